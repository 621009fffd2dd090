"""Prometheus metrics, every name starting with `viewport_`, served at GET /metrics
(galleries.views.metrics) to a scraper that sends VIEWPORT_METRICS_TOKEN.

Under gunicorn each worker process keeps its numbers in a file of PROMETHEUS_MULTIPROC_DIR
(gunicorn.conf.py sets and empties it at start) and a scrape adds up the files of every worker,
so the answer is the server's, whichever worker gives it. Elsewhere (runserver, tests) the
numbers live in this process.

The rest of the code counts with one-line calls on the metrics below.
"""

import os
import time

from django.conf import settings
from django.http import HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

# The same series in both modes: multiprocess mode has no `_created` ones.
disable_created_metrics()
REGISTRY = CollectorRegistry()

REQUESTS = Counter(
    "viewport_http_requests",
    "Requests answered, by view (URL name) and status.",
    ["view", "status"],
    registry=REGISTRY,
)
REQUEST_SECONDS = Histogram(
    "viewport_http_request_duration_seconds",
    "Seconds from a request's arrival to its answer's headers (a streamed ZIP goes on after), by view.",
    ["view"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
UPLOADED_BYTES = Counter(
    "viewport_uploaded_bytes", "Bytes of the original photos uploaded and stored.", registry=REGISTRY
)
UPLOAD_SLOTS_IN_USE = Gauge(
    "viewport_upload_slots_in_use",
    "Photo uploads being handled now (VIEWPORT_UPLOAD_SLOTS per worker process).",
    multiprocess_mode="livesum",
    registry=REGISTRY,
)
ZIP_BYTES = Counter("viewport_zip_streamed_bytes", "Bytes of ZIP archives sent to clients.", registry=REGISTRY)
ZIP_STREAMS = Gauge(
    "viewport_zip_streams_in_progress",
    "ZIP downloads streaming now (VIEWPORT_ZIP_STREAMS per worker process).",
    multiprocess_mode="livesum",
    registry=REGISTRY,
)
STORAGE_ERRORS = Counter(
    "viewport_storage_errors",
    "Photo storage operations that failed (S3 down, hung, refusing our credentials, or answering 5xx), by operation.",
    ["operation"],
    registry=REGISTRY,
)
# Zeros from the start for what the app does most, so that a rate() has a series to start from.
for operation in ("HeadBucket", "GetObject", "PutObject", "DeleteObjects", "ListObjectsV2"):
    STORAGE_ERRORS.labels(operation)


class MetricsMiddleware:
    """Count each request by view and status, and how long its answer took to start."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        view = view_label(request)
        REQUEST_SECONDS.labels(view).observe(time.perf_counter() - started)
        REQUESTS.labels(view, str(response.status_code)).inc()
        return response


def view_label(request):
    """The URL name of the view that answered; `static` for whitenoise's files, `unmatched` for
    paths no view has (one label per URL name, never per path: the series stay few)."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name
    if request.path_info.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return "static"
    return "unmatched"


def counted_zip(chunks):
    """A ZIP archive's chunks, counted as sent and as a stream in progress until it ends (or the
    client goes away and the answer is closed)."""
    with ZIP_STREAMS.track_inprogress():
        for chunk in chunks:
            # Counted as it is handed on: once the last byte is out, the server closes the
            # stream without asking for more, and nothing after a yield would run.
            ZIP_BYTES.inc(len(chunk))
            yield chunk


class TaskQueueCollector:
    """The task system, read from the database at each scrape (galleries.tasks), so that any app
    server answers for every worker and scheduler: the queue as /healthz/ reports it (`status`),
    tasks by name and state and the periodic tasks' runs (`table`, galleries.tasks.task_table()).
    Nothing when the database did not answer."""

    def __init__(self, status, table):
        self.status = status
        self.table = table

    def collect(self):
        if self.status is None:
            return
        yield GaugeMetricFamily(
            "viewport_task_queue_length", "Tasks waiting for a worker.", value=self.status["waiting"]
        )
        yield GaugeMetricFamily(
            "viewport_task_queue_oldest_age_seconds",
            "Seconds the oldest waiting task has waited (0 when none waits).",
            value=self.status["oldest_waiting_seconds"] or 0,
        )
        counts, periodic = self.table
        tasks = GaugeMetricFamily(
            "viewport_tasks",
            "Tasks by task and state: waiting for a worker, running, failed in the last 24 hours.",
            labels=["task", "state"],
        )
        for (task, state), count in sorted(counts.items()):
            tasks.add_metric([task, state], count)
        yield tasks
        last = GaugeMetricFamily(
            "viewport_periodic_task_last_queued_timestamp_seconds",
            "When a scheduler last queued each periodic task (Unix time).",
            labels=["task"],
        )
        due = GaugeMetricFamily(
            "viewport_periodic_task_next_run_timestamp_seconds",
            "When each periodic task is next due (Unix time): once it is past, no scheduler queued that run.",
            labels=["task"],
        )
        for task, (last_queued_at, next_run_at) in sorted(periodic.items()):
            if last_queued_at:
                last.add_metric([task], last_queued_at.timestamp())
            if next_run_at:
                due.add_metric([task], next_run_at.timestamp())
        yield last
        yield due


def exposition(task_queue_status, task_table):
    """The text format answer to a scrape: this server's metrics and the task system."""
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    queue = CollectorRegistry()
    queue.register(TaskQueueCollector(task_queue_status, task_table))
    body = generate_latest(registry) + generate_latest(queue)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
