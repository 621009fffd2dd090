"""GET /metrics (Prometheus text format, behind a bearer token) and the logs' request ids: in this
process through the test client, and under gunicorn with two worker processes, whose numbers a
scrape adds up whichever worker answers it."""

import copy
import json
import re
import zipfile
from datetime import timedelta
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from prometheus_client.parser import text_string_to_metric_families

from galleries.models import PeriodicTask
from galleries.tests.factories import GalleryFactory, jpeg_upload
from galleries.uploads import store_photo
from sharing.tasks import send_daily_digests, send_reminder
from sharing.tests.factories import ShareLinkFactory
from testing.appserver import AppServer, production_env, running_database_url
from testing.http import upload
from testing.services import free_port

TOKEN = "metrics-token-" + "m" * 30
# Exactly what the metrics are: every name the issue lists, under viewport_, and nothing else.
METRICS = {
    "viewport_http_requests": "counter",
    "viewport_http_request_duration_seconds": "histogram",
    "viewport_uploaded_bytes": "counter",
    "viewport_upload_slots_in_use": "gauge",
    "viewport_zip_streamed_bytes": "counter",
    "viewport_zip_streams_in_progress": "gauge",
    "viewport_storage_errors": "counter",
    "viewport_task_queue_length": "gauge",
    "viewport_task_queue_oldest_age_seconds": "gauge",
    "viewport_tasks": "gauge",
    "viewport_periodic_task_last_queued_timestamp_seconds": "gauge",
    "viewport_periodic_task_next_run_timestamp_seconds": "gauge",
}


def scrape(body):
    """{(sample name, frozenset of labels): value} of a text format answer, and {family: type}."""
    samples, types = {}, {}
    for family in text_string_to_metric_families(body.decode()):
        types[family.name] = family.type
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples, types


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0)


@pytest.mark.django_db
def test_metrics_need_the_token_and_are_off_without_one(client, settings):
    settings.VIEWPORT_METRICS_TOKEN = ""
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404

    settings.VIEWPORT_METRICS_TOKEN = TOKEN
    for authorization in (None, "Bearer", f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN):
        response = client.get("/metrics", headers={"Authorization": authorization} if authorization else {})
        assert response.status_code == 401, authorization
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert b"viewport_" not in response.content

    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    _, types = scrape(response.content)
    assert types == METRICS


def test_uploads_zips_and_requests_are_counted(client, gallery, photo_storage, settings):
    settings.VIEWPORT_METRICS_TOKEN = TOKEN

    def metrics():
        return scrape(client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).content)[0]

    before = metrics()
    photos = [jpeg_upload("a.jpg", width=300, height=200), jpeg_upload("b.jpg", width=200, height=300)]
    sizes = sum(photo.size for photo in photos)
    broken = SimpleUploadedFile("broken.jpg", b"not a photo", "image/jpeg")
    assert upload(client, gallery, *photos, broken).status_code == 200
    link = ShareLinkFactory(gallery=gallery)
    client.logout()
    response = client.get(reverse("sharing:zip_download", args=[link.pk]))
    archive = b"".join(response.streaming_content)
    assert len(zipfile.ZipFile(BytesIO(archive)).namelist()) == 2
    assert client.get(reverse("sharing:public_gallery", args=[link.pk])).status_code == 200
    client.get("/no-such-page/")

    after = metrics()
    assert value(after, "viewport_uploaded_bytes_total") - value(before, "viewport_uploaded_bytes_total") == sizes
    assert value(after, "viewport_zip_streamed_bytes_total") - value(before, "viewport_zip_streamed_bytes_total") == (
        len(archive)
    )
    # (compared with before: a test earlier in this process may have left a streaming response unread)
    assert value(after, "viewport_zip_streams_in_progress") == value(before, "viewport_zip_streams_in_progress")
    assert value(after, "viewport_upload_slots_in_use") == 0
    for view, status in [("sharing:zip_download", "200"), ("sharing:public_gallery", "200"), ("unmatched", "404")]:
        counted = value(after, "viewport_http_requests_total", view=view, status=status)
        assert counted - value(before, "viewport_http_requests_total", view=view, status=status) == 1, view
    timed = value(after, "viewport_http_request_duration_seconds_count", view="galleries:photo_upload")
    assert timed - value(before, "viewport_http_request_duration_seconds_count", view="galleries:photo_upload") == 1


@pytest.mark.django_db
def test_storage_that_refuses_us_or_is_down_is_counted(client, settings):
    settings.VIEWPORT_METRICS_TOKEN = TOKEN

    def errors():
        response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        return value(scrape(response.content)[0], "viewport_storage_errors_total", operation="HeadBucket")

    before = errors()
    storages = copy.deepcopy(settings.STORAGES)
    storages["default"]["OPTIONS"]["secret_key"] = "not-the-secret"
    settings.STORAGES = storages
    assert client.get(reverse("healthz")).status_code == 503  # 403 from S3
    assert errors() == before + 1

    storages = copy.deepcopy(settings.STORAGES)
    storages["default"]["OPTIONS"]["endpoint_url"] = f"http://127.0.0.1:{free_port()}"  # nothing listens
    settings.STORAGES = storages
    assert client.get(reverse("healthz")).status_code == 503
    assert errors() == before + 2


@pytest.mark.django_db
def test_the_task_system_is_read_from_the_database_at_each_scrape(client, settings):
    # Whatever process answers: the workers' and schedulers' work is in the tasks database.
    settings.VIEWPORT_METRICS_TOKEN = TOKEN
    settings.TASKS = {"default": {"BACKEND": settings.TASK_BACKENDS["database"]}}

    def metrics():
        return scrape(client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).content)[0]

    reminder, digest = "sharing.tasks.send_reminder", "sharing.tasks.send_daily_digests"
    assert not any(name == "viewport_tasks" for name, _ in metrics())
    results = [send_reminder.enqueue(str(n), f"client{n}@example.com").id for n in range(5)]
    results.append(send_daily_digests.enqueue().id)
    now = timezone.now()
    rows = DBTaskResult.objects.filter
    rows(pk=results[0]).update(enqueued_at=now - timedelta(minutes=10))
    rows(pk=results[1]).update(status="RUNNING", started_at=now)
    rows(pk=results[2]).update(status="FAILED", finished_at=now - timedelta(hours=2))
    rows(pk=results[3]).update(status="FAILED", finished_at=now - timedelta(days=3))  # long ago: not counted
    rows(pk=results[4]).update(status="SUCCESSFUL", finished_at=now)
    PeriodicTask.objects.claim("galleries.tasks.prune_task_results", now + timedelta(hours=20))

    samples = metrics()
    tasks = {
        (dict(labels)["task"], dict(labels)["state"]): count
        for (name, labels), count in samples.items()
        if name == "viewport_tasks"
    }
    assert tasks == {
        (reminder, "waiting"): 1,
        (reminder, "running"): 1,
        (reminder, "failed"): 1,
        (digest, "waiting"): 1,
        (digest, "running"): 0,
        (digest, "failed"): 0,
    }
    assert value(samples, "viewport_task_queue_length") == 2
    assert 599 <= value(samples, "viewport_task_queue_oldest_age_seconds") < 700
    prune = {"task": "galleries.tasks.prune_task_results"}
    assert value(samples, "viewport_periodic_task_next_run_timestamp_seconds", **prune) == pytest.approx(
        (now + timedelta(hours=20)).timestamp()
    )
    assert abs(value(samples, "viewport_periodic_task_last_queued_timestamp_seconds", **prune) - now.timestamp()) < 60

    # A worker takes the waiting ones: the next scrape says so.
    rows(pk__in=[results[0], results[5]]).update(status="SUCCESSFUL", finished_at=timezone.now())
    samples = metrics()
    assert value(samples, "viewport_tasks", task=reminder, state="waiting") == 0
    assert value(samples, "viewport_tasks", task=digest, state="waiting") == 0
    assert value(samples, "viewport_task_queue_length") == 0


@pytest.mark.django_db(transaction=True)
def test_under_gunicorn_a_scrape_adds_up_every_worker_and_logs_are_json_lines_with_request_ids(static_root):
    gallery = GalleryFactory()
    for n in range(2):
        store_photo(gallery, jpeg_upload(f"IMG_{n}.jpg", width=300, height=200))
    link = ShareLinkFactory(gallery=gallery)
    env = production_env(
        DATABASE_URL=running_database_url(),
        VIEWPORT_STATIC_ROOT=str(static_root),
        VIEWPORT_METRICS_TOKEN=TOKEN,
        VIEWPORT_LOG_FORMAT="json",
        VIEWPORT_LOG_LEVEL="WARNING",
    )
    # Two ZIP slots a worker: a stream's slot is given back just after its last byte, when the
    # next request may already be there.
    app = AppServer(env, workers=2, threads=4).start()
    try:
        answers = [app.get(reverse("sharing:zip_download", args=[link.pk])) for _ in range(6)]
        assert [status for status, _, _ in answers] == [200] * 6
        archives = [body for _, _, body in answers]
        status, headers, _ = app.get("/no-such-page/", headers={"X-Request-ID": "proxy-given-id-0001"})
        assert status == 404 and headers["X-Request-ID"] == "proxy-given-id-0001"
        status, headers, _ = app.get("/healthz/", headers={"X-Request-ID": "<script>x</script>"})
        made_up = headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", made_up)
        # Several scrapes, answered by either worker: each gives the sum of both.
        scrapes = [scrape(app.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})[2]) for _ in range(4)]
        log = app.log.read_text()
    finally:
        app.stop()

    for samples, types in scrapes:
        assert types == METRICS
        assert value(samples, "viewport_zip_streamed_bytes_total") == sum(len(archive) for archive in archives)
        assert value(samples, "viewport_http_requests_total", view="sharing:zip_download", status="200") == 6
        assert value(samples, "viewport_zip_streams_in_progress") == 0
        assert value(samples, "viewport_task_queue_length") == 0

    lines = [json.loads(line) for line in log.splitlines() if line.strip()]  # every line is JSON
    access = {line["request_id"]: line for line in lines if line["logger"] == "gunicorn.access"}
    assert access["proxy-given-id-0001"]["status"] == 404 and access["proxy-given-id-0001"]["path"] == "/no-such-page/"
    assert access[made_up]["path"] == "/healthz/"
    [not_found] = [line for line in lines if line["logger"] == "django.request"]
    assert not_found["request_id"] == "proxy-given-id-0001" and not_found["level"] == "WARNING"
