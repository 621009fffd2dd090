"""Test-only settings and the fixtures every app's tests share.

The real services (PostgreSQL, the SeaweedFS S3 server) are started by pytest_services.py.
"""

import pytest


@pytest.fixture(autouse=True)
def test_settings(settings, tmp_path):
    # Whitenoise's manifest storage needs collectstatic; the test client speaks plain HTTP.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.SECURE_SSL_REDIRECT = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    yield
    # The test client closes a streamed answer only once a test has read it to the end, and only
    # closing gives its ZIP stream slot back: every test starts with all of them free.
    from sharing.zips import stream_slots

    stream_slots.cache_clear()


@pytest.fixture(params=["s3", "local"])
def photo_storage(request, settings, tmp_path):
    """Run a test on the S3 server and again on local file storage. Returns the backend's name."""
    if request.param == "local":
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "galleries.storage.LocalPhotoStorage",
                "OPTIONS": {"location": tmp_path / "photos", "allow_overwrite": True},
            },
        }
    return request.param


@pytest.fixture
def stored_keys(photo_storage):
    """A function listing the keys in the active photo storage under a prefix."""
    from django.core.files.storage import default_storage

    return lambda prefix="": sorted(default_storage.list_keys(prefix))
