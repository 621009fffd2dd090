# Threaded workers: a request holds one thread while it runs, a ZIP download for as long as the
# client downloads. The app keeps threads free for pages: ZIPs stream in at most half of each
# worker's threads (VIEWPORT_ZIP_STREAMS, which reads GUNICORN_THREADS: set threads here, not with
# --threads), and an answer whose client stops reading gives up after VIEWPORT_SEND_TIMEOUT.
import os
import shutil
import tempfile
from pathlib import Path

from viewport.logs import gunicorn_logging

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# Restarts a worker whose main loop stops for this long. It never ends a slow request: with
# gthread the main loop keeps running while a thread waits.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# Seconds an idle kept-alive connection stays open; it waits in the main loop, not in a thread.
keepalive = 2
accesslog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Each worker process keeps its metrics in a file of this folder, and /metrics adds up the files
# (viewport/metrics.py). Set before anything imports prometheus_client (it picks its mode then);
# emptied at start, since the counters of a previous run would otherwise add to this one's.
_metrics_dir_given = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="viewport-metrics-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir


def on_starting(server):
    Path(_metrics_dir).mkdir(parents=True, exist_ok=True)
    for stale in Path(_metrics_dir).glob("*.db"):
        stale.unlink()


def child_exit(server, worker):
    from prometheus_client import multiprocess  # here: after the folder is set, see above

    # A worker that stops no longer counts in the gauges of what is in progress now.
    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if not _metrics_dir_given:
        shutil.rmtree(_metrics_dir, ignore_errors=True)


# VIEWPORT_LOG_FORMAT=json: gunicorn's own lines are JSON too, its access lines with the
# request's id from the answer's X-Request-ID header (viewport/logs.py).
if os.environ.get("VIEWPORT_LOG_FORMAT") == "json":
    logconfig_dict = gunicorn_logging(os.environ.get("VIEWPORT_LOG_LEVEL", "INFO").upper())
else:
    access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %({x-request-id}o)s'
