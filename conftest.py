"""Test-only settings and the fixtures every app's tests share.

The real services (PostgreSQL, the SeaweedFS S3 server) are started by testing/plugin.py.
"""

import os

import pytest
from django.core.files.storage import default_storage

from galleries import uploads
from galleries.tests.factories import GalleryFactory
from galleries.uploads import store_photo
from testing.photos import jpeg_upload
from testing.services import Mailbox
from viewport.middleware import slots


@pytest.fixture(autouse=True)
def test_settings(settings, tmp_path):
    # Whitenoise's manifest storage needs collectstatic; the test client speaks plain HTTP.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.SECURE_SSL_REDIRECT = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Proof-of-work challenges a test solves in Python in milliseconds; the browser tests time
    # the real cost.
    settings.VIEWPORT_CHALLENGE_COST = 10
    # Tasks run inside the test (production queues them for a worker): the worker tests
    # (tests/test_worker.py) run a real one.
    settings.TASKS = {"default": {"BACKEND": settings.TASK_BACKENDS["immediate"]}}
    yield
    # The test client closes a streamed answer only once a test has read it to the end, and only
    # closing gives its ZIP stream slot back: every test starts with all slots free.
    slots.cache_clear()


@pytest.fixture(scope="session")
def renditions_made():
    return {}


@pytest.fixture(autouse=True)
def renditions_made_once(request, monkeypatch, renditions_made):
    """Most tests are about pages, links, storage and tasks rather than pixels, and store the same
    photos test after test: each file's renditions are made once a session (the same bytes give
    the same renditions), and stored anew, with new rows, every time. Tests of the pixel pipeline
    itself are marked `pixels` and make them on every upload. Only in this process: a worker or
    gunicorn process makes its own."""
    if request.node.get_closest_marker("pixels"):
        return
    make_renditions = uploads.make_renditions

    def made_once(file, max_pixels):
        key = (uploads.sha256_of(file), max_pixels)
        if key not in renditions_made:
            renditions_made[key] = make_renditions(file, max_pixels)
        return renditions_made[key]

    monkeypatch.setattr(uploads, "make_renditions", made_once)


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
    return lambda prefix="": sorted(default_storage.list_keys(prefix))


@pytest.fixture
def gallery(db, client):
    """An empty gallery whose owner is logged in on `client`."""
    gallery = GalleryFactory(name="Smith wedding")
    client.force_login(gallery.owner)
    return gallery


@pytest.fixture
def gallery_with_photos(gallery, photo_storage):
    """`gallery` with three stored photos, IMG_0.jpg to IMG_2.jpg of 600 x 400 (twenty-seven objects:
    each has a thumbnail, a preview and six sizes, 160 to 600 px WebP), on each photo storage."""
    for n in range(3):
        store_photo(gallery, jpeg_upload(f"IMG_{n}.jpg"))
    return gallery


@pytest.fixture
def smtp_mailbox():
    """What the suite's SMTP server receives from now on (testing.services.Mailbox): from the
    worker, gunicorn, or this process with the `smtp_mail` fixture."""
    mailbox = Mailbox(os.environ["VIEWPORT_TEST_MAIL_DIR"])
    mailbox.clear()
    return mailbox


@pytest.fixture
def smtp_mail(settings, smtp_mailbox):
    """Mail sent in this process goes to the suite's SMTP server (not Django's test outbox)."""
    host, port = os.environ["EMAIL_URL"].removeprefix("smtp://").split(":")
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": host, "port": int(port)},
        }
    }
    return smtp_mailbox
