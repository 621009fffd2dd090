"""Fixtures for the cross-app suites: a photographer's world, and the app under gunicorn.

The session's S3 server and PostgreSQL are shared by every test: fault tests never pause or
stop them, they start servers of their own.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from galleries.tests.factories import GalleryFactory, jpeg_upload
from pytest_services import free_port
from sharing.tests.factories import ShareLinkFactory
from galleries.uploads import store_photo


class World:
    """Two photographers. The owner has a shared gallery (two stored photos, an active and an
    expired share link) and a second gallery with one photo that no link shares."""

    def __init__(self):
        self.owner = UserFactory(display_name="Ada Owner")
        self.intruder = UserFactory(display_name="Ivan Intruder")
        self.gallery = GalleryFactory(owner=self.owner, name="Smith wedding")
        self.photo = store_photo(self.gallery, jpeg_upload("IMG_0001.jpg", width=320, height=240))
        self.second_photo = store_photo(self.gallery, jpeg_upload("IMG_0002.jpg", width=240, height=320))
        self.link = ShareLinkFactory(gallery=self.gallery)
        self.expired_link = ShareLinkFactory(gallery=self.gallery, expires_at=timezone.now() - timedelta(minutes=1))
        self.other_gallery = GalleryFactory(owner=self.owner, name="Private portfolio")
        self.other_photo = store_photo(self.other_gallery, jpeg_upload("PRIVATE.jpg", width=200, height=200))
        self.other_link = ShareLinkFactory(gallery=self.other_gallery)


@pytest.fixture
def world(db, photo_storage):
    return World()


@pytest.fixture
def s3_world(db):
    """The same world on the session's S3 server only (photo_storage runs each test twice)."""
    return World()


# The app served by gunicorn, as in production (DEBUG off, collected static files, gthread).

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def production_env(**extra):
    """The environment the app runs with in production, on this test run's servers."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(
        DJANGO_SECRET_KEY="app-server-" + "s" * 50,
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        VIEWPORT_LOG_LEVEL="ERROR",
    )
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def static_root(tmp_path_factory):
    """collectstatic once per run, into a folder of our own (whitenoise's manifest needs it)."""
    root = tmp_path_factory.mktemp("static")
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT, env=production_env(VIEWPORT_STATIC_ROOT=str(root)), check=True, timeout=120,
    )
    return root


class AppServer:
    """gunicorn serving viewport.wsgi with production's gunicorn.conf.py on a free loopback port,
    in a process of its own. Workers and threads are passed the way production sets them (its
    environment), so the app sizes what depends on them (VIEWPORT_ZIP_STREAMS) the same way;
    without them gunicorn.conf.py's defaults apply."""

    def __init__(self, env, workers=None, threads=None):
        self.port = free_port()
        self.env = {**env, "GUNICORN_BIND": f"127.0.0.1:{self.port}"}
        if workers:
            self.env["GUNICORN_WORKERS"] = str(workers)
        if threads:
            self.env["GUNICORN_THREADS"] = str(threads)
        self.args = [BIN / "gunicorn", "--config", "gunicorn.conf.py", "viewport.wsgi", "--graceful-timeout", "2"]
        self.log = tempfile.NamedTemporaryFile(prefix="viewport-gunicorn-", suffix=".log", delete=False)
        self.process = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.process = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {Path(self.log.name).read_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start within 30 s")

    def get(self, path, timeout=15):
        """(status, headers, body) of a GET through a TLS-terminating proxy's eyes."""
        request = urllib.request.Request(self.url + path, headers={"X-Forwarded-Proto": "https"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        Path(self.log.name).unlink(missing_ok=True)


def pytest_configure(config):
    config.addinivalue_line("markers", "load: many concurrent clients against gunicorn (a few seconds)")
