"""Fixtures for the cross-app suites: a photographer's world, and static files for the app
under gunicorn (testing/appserver.py).

The session's S3 server and PostgreSQL are shared by every test: fault tests never pause or
stop them, they start servers of their own.
"""

import fcntl
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from galleries.models import PhotoSet, Upload, UploadStatus
from galleries.tests.factories import GalleryFactory, jpeg_upload
from galleries.uploads import store_photo
from sharing.tests.factories import ShareLinkFactory
from testing.appserver import collect_static, production_env


class World:
    """Two photographers. The owner has a shared gallery (two stored photos, the second in the
    set "Ceremony"; an active and an expired share link) and a second gallery with one photo
    that no link shares."""

    def __init__(self):
        self.owner = UserFactory(display_name="Ada Owner")
        self.intruder = UserFactory(display_name="Ivan Intruder")
        self.gallery = GalleryFactory(owner=self.owner, name="Smith wedding")
        self.photo = store_photo(self.gallery, jpeg_upload("IMG_0001.jpg", width=320, height=240))
        self.photo_set = PhotoSet.objects.create(gallery=self.gallery, name="Ceremony")
        self.second_photo = store_photo(
            self.gallery, jpeg_upload("IMG_0002.jpg", width=240, height=320), self.photo_set
        )
        self.link = ShareLinkFactory(gallery=self.gallery)
        self.expired_link = ShareLinkFactory(gallery=self.gallery, expires_at=timezone.now() - timedelta(minutes=1))
        self.other_gallery = GalleryFactory(owner=self.owner, name="Private portfolio")
        self.other_photo = store_photo(self.other_gallery, jpeg_upload("PRIVATE.jpg", width=200, height=200))
        self.other_link = ShareLinkFactory(gallery=self.other_gallery)
        # The resumable upload the first photo came from (galleries/uploads.py).
        self.upload = Upload.objects.create(
            gallery=self.gallery,
            photo_id=self.photo.pk,
            file_name=self.photo.original_filename,
            size=self.photo.file_size,
            sha256=self.photo.sha256,
            object_key=self.photo.object_key,
            part_size=8 * 1024 * 1024,
            status=UploadStatus.DONE,
        )


@pytest.fixture
def world(db, photo_storage):
    return World()


@pytest.fixture
def s3_world(db):
    """The same world on the session's S3 server only (photo_storage runs each test twice)."""
    return World()


@pytest.fixture(scope="session")
def static_root(tmp_path_factory, worker_id):
    """collectstatic once per run, for every AppServer to serve: the suite's processes share one
    folder (compressing every file with Brotli takes seconds of CPU), collected by the first to ask."""
    run_folder = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        run_folder = run_folder.parent  # this run's folder, shared by its xdist workers
    root = run_folder / "static"
    with open(run_folder / "static.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return collect_static(root, production_env())
