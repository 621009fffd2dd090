"""The production-like stack the server benchmarks run against, all on 127.0.0.1:

PostgreSQL and SeaweedFS (S3) from pytest_services, then `migrate` and `collectstatic`, then
gunicorn with the project's gunicorn.conf.py (2 gthread workers) in production mode (DEBUG off).
This process also loads Django with the same settings, to create users and galleries directly.
"""

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

from bench.common import REPO, proc_status
from pytest_services import PostgresServer, S3Server, free_port

SECRET_KEY = "bench-secret-key-not-for-production-" + "b" * 40
PASSWORD = "bench-password-Viewport-2026!"


class Stack:
    def __init__(self, workers=2, threads=8):
        self.workers, self.threads = workers, threads
        self.tmp = Path(tempfile.mkdtemp(prefix="viewport-bench-"))
        self.postgres = self.s3 = self.gunicorn = None
        self.port = free_port()
        self.env = {}

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self):
        self.postgres = PostgresServer().start()
        self.s3 = S3Server(bucket="viewport-bench").start()
        self.env = {
            "DATABASE_URL": self.postgres.url,
            **self.s3.env(),
            "DJANGO_SECRET_KEY": SECRET_KEY,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "VIEWPORT_STATIC_ROOT": str(self.tmp / "static"),
            "VIEWPORT_DATA_DIR": str(self.tmp / "data"),
            "VIEWPORT_UPLOAD_TEMP_DIR": str(self.tmp / "uploads"),
            "VIEWPORT_LOG_LEVEL": "WARNING",
        }
        (self.tmp / "uploads").mkdir()
        os.environ.pop("DJANGO_DEBUG", None)
        os.environ.update(self.env)
        os.environ["DJANGO_SETTINGS_MODULE"] = "viewport.settings"
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", "--noinput", verbosity=0)
        call_command("collectstatic", "--noinput", verbosity=0)
        self.start_gunicorn()
        return self

    def start_gunicorn(self):
        env = {**os.environ, **self.env, "GUNICORN_BIND": f"127.0.0.1:{self.port}",
               "GUNICORN_WORKERS": str(self.workers), "GUNICORN_THREADS": str(self.threads),
               "GUNICORN_TIMEOUT": "120"}
        env.pop("DJANGO_DEBUG", None)
        self.gunicorn_log = self.tmp / "gunicorn.log"
        self.gunicorn = subprocess.Popen(
            [Path(sys.executable).parent / "gunicorn", "--config", "gunicorn.conf.py", "viewport.wsgi"],
            cwd=REPO, env=env, stdout=open(self.gunicorn_log, "ab"), stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _, _ = self.request("GET", "/healthz/")
                if status == 200:
                    break
            except OSError:
                pass
            if self.gunicorn.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start:\n" + self.gunicorn_log.read_text()[-3000:])
            time.sleep(0.2)
        time.sleep(0.5)  # let every worker finish booting

    def restart_gunicorn(self):
        """Fresh workers, so memory readings start from a known state."""
        self.stop_gunicorn()
        self.start_gunicorn()

    def stop_gunicorn(self):
        if self.gunicorn and self.gunicorn.poll() is None:
            self.gunicorn.send_signal(signal.SIGTERM)
            try:
                self.gunicorn.wait(20)
            except subprocess.TimeoutExpired:
                self.gunicorn.kill()
                self.gunicorn.wait()
        self.gunicorn = None

    def stop(self):
        self.stop_gunicorn()
        for server in (self.s3, self.postgres):
            if server:
                server.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- gunicorn workers' memory -----------------------------------------------------------------
    def worker_pids(self):
        try:
            out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.gunicorn.pid)], capture_output=True,
                                 text=True).stdout
        except OSError:
            return []
        return [int(pid) for pid in out.split()]

    def worker_memory(self):
        """{pid: {"VmRSS": KiB, "VmHWM": KiB}} for each gunicorn worker."""
        return {pid: proc_status(pid) for pid in self.worker_pids()}

    # -- HTTP ------------------------------------------------------------------------------------
    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    def connection(self, timeout=120):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, cookies=None):
        connection = self.connection()
        try:
            headers = dict(headers or {})
            if cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()

    # -- data ------------------------------------------------------------------------------------
    def create_user(self, email="bench@example.com"):
        from django.contrib.auth import get_user_model

        User = get_user_model()
        user = User.objects.filter(email=email).first() or User.objects.create_user(email=email, password=PASSWORD)
        return user

    def login(self, user):
        """Cookies for a logged-in session: through the login form if it works, else made directly."""
        cookies = {}
        try:
            status, headers, body = self.request("GET", "/accounts/login/")
            csrf = _cookie(headers, "csrftoken")
            token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
            if status == 200 and csrf and token:
                form = urllib.parse.urlencode({"email": user.email, "password": PASSWORD,
                                               "csrfmiddlewaretoken": token.group(1).decode()})
                status, headers, _ = self.request(
                    "POST", "/accounts/login/", body=form, cookies={"csrftoken": csrf},
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
                session = _cookie(headers, "sessionid")
                if status in (302, 303) and session:
                    self.login_method = "login form"
                    return {"csrftoken": csrf, "sessionid": session}
        except OSError:
            pass
        from django.conf import settings
        from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
        from django.contrib.sessions.backends.db import SessionStore
        from django.middleware.csrf import _get_new_csrf_string

        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
        self.login_method = "session made directly"
        cookies = {"sessionid": session.session_key, "csrftoken": _get_new_csrf_string()}
        return cookies


def _cookie(headers, name):
    for value in headers.get_all("Set-Cookie") or []:
        match = re.match(rf"{name}=([^;]*)", value)
        if match:
            return match.group(1)
    return None


def json_body(body):
    return json.loads(body.decode())


def make_gallery(user, count, *, name=None, file_size=10_000_000, prefix="IMG_", width=6000, height=4000,
                 share=True):
    """A gallery of `count` photo rows (no pixels), inserted in bulk; returns (gallery, share_link)."""
    from galleries.models import Gallery, Photo, natural_sort_key
    from sharing.models import ShareLink

    gallery = Gallery.objects.create(owner=user, name=name or f"Bench {count} photos")
    photos = []
    for i in range(count):
        filename = f"{prefix}{i:05d}.jpg"
        photo = Photo(gallery=gallery, original_filename=filename, sort_key=natural_sort_key(filename),
                      content_type="image/jpeg", file_size=file_size, width=width if i % 5 else height,
                      height=height if i % 5 else width, object_key=f"{gallery.pk}/{filename}")
        photo.thumbnail_object_key = f"{gallery.pk}/thumbnails/{photo.pk}.jpg"
        photo.preview_object_key = f"{gallery.pk}/thumbnails/{photo.pk}-preview.jpg"
        photos.append(photo)
    Photo.objects.bulk_create(photos, batch_size=1000)
    link = ShareLink.objects.create(gallery=gallery) if share else None
    return gallery, link
