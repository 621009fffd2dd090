"""/healthz/ for load balancers: 200 when the database and photo storage answer, else 503; and
the task queue's backlog, which is reported and never a 503.

The 503 paths run against real outages: S3 stopped and hung in test_storage_faults.py,
PostgreSQL stopped under gunicorn in test_database_faults.py.
"""

from contextlib import contextmanager
from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from galleries.tasks import retry_storage_deletes

pytestmark = pytest.mark.django_db


def test_healthz_is_200_with_each_check_when_all_is_well(client, photo_storage):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in ("status", "database", "storage")} == {
        "status": "ok",
        "database": "ok",
        "storage": "ok",
    }
    # The tests run tasks inline: nothing ever waits.
    assert body["queue"] == {"backend": "immediate", "waiting": 0, "oldest_waiting_seconds": None}


def test_healthz_reports_how_long_the_oldest_task_has_waited_for_the_worker(client, settings):
    settings.TASKS = {"default": {"BACKEND": settings.TASK_BACKENDS["database"]}}
    assert client.get(reverse("healthz")).json()["queue"] == {
        "backend": "database",
        "waiting": 0,
        "oldest_waiting_seconds": None,
    }
    with time_machine(minutes=-5):
        retry_storage_deletes.enqueue()
    retry_storage_deletes.enqueue()

    response = client.get(reverse("healthz"))
    assert response.status_code == 200  # a worker that is behind takes no app server out of service
    queue = response.json()["queue"]
    assert queue["waiting"] == 2 and 299 <= queue["oldest_waiting_seconds"] < 330


def test_healthz_is_never_cached_and_needs_no_login_or_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get(reverse("healthz"))  # plain HTTP, anonymous: what a load balancer sends
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"] and "max-age=0" in response["Cache-Control"]


def test_healthz_says_which_check_failed_and_leaks_no_details(client, settings, tmp_path):
    # Local storage whose folder is a file: the storage check fails, the database one passes.
    blocker = tmp_path / "photos"
    blocker.write_text("not a folder")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "galleries.storage.LocalPhotoStorage", "OPTIONS": {"location": blocker}},
    }
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["database"] == "ok"
    assert body["storage"] == "error: NotADirectoryError"  # the kind of error, never paths or messages


def test_healthz_only_answers_get(client):
    assert client.post(reverse("healthz")).status_code == 405


@contextmanager
def time_machine(minutes):
    """Make rows written inside this block look `minutes` older (or newer)."""
    then = timezone.now() + timedelta(minutes=minutes)
    with mock.patch("django.utils.timezone.now", return_value=then):
        yield
