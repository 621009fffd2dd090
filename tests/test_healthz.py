"""/healthz/ for load balancers: 200 when the database and photo storage answer, else 503.

The 503 paths run against real outages: S3 stopped and hung in test_storage_faults.py,
PostgreSQL stopped under gunicorn in test_database_faults.py.
"""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_healthz_is_200_with_each_check_when_all_is_well(client, photo_storage):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "storage": "ok"}


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
