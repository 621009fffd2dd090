"""Upload memory under gunicorn, as in production (2 gthread workers × 8 threads, DEBUG off).

The photo is the worst case per byte a photographer can send: a PNG of a few hundred KB that decodes
to 14204 × 10652 pixels (a Phase One IQ4 150 MP frame, the largest accepted), with transparency.
Decoded whole it takes ~1 GB; streamed through the shrink, one decode at a time per worker, it takes
about a tenth of that. Worker memory is each worker's peak RSS (VmHWM, reset after the warm-up)
over its RSS before: every byte the upload made the worker take, Python and C alike.
"""

import http.client
import re
import urllib.parse
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from accounts.tests.factories import UserFactory
from galleries.models import Gallery
from galleries.tests.factories import GalleryFactory
from testing.appserver import AppServer, production_env, running_database_url
from testing.photos import photo_bytes

pytestmark = [pytest.mark.load, pytest.mark.django_db(transaction=True)]

IQ4_150MP = (14204, 10652)
PASSWORD = "correct horse battery staple"
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def iq4_png():
    data = photo_bytes("PNG", *IQ4_150MP, alpha=True, orientation=1, compression=9)
    assert len(data) < 1_000_000, "a few hundred KB"
    return data


@pytest.fixture
def gallery():
    owner = UserFactory(email=f"memory-{uuid.uuid4().hex[:8]}@example.com")
    hasher = PBKDF2PasswordHasher()  # the tests' MD5 is not among production's hashers
    owner.password = hasher.encode(PASSWORD, hasher.salt())
    owner.save(update_fields=["password"])
    return GalleryFactory(owner=owner)


@pytest.fixture
def app(gallery, static_root):
    database_url = running_database_url()
    server = AppServer(
        # Every upload is let in (none refused as busy), so all eight wait for a decode at once.
        production_env(DATABASE_URL=database_url, VIEWPORT_STATIC_ROOT=str(static_root), VIEWPORT_UPLOAD_SLOTS="8"),
        workers=2,
        threads=8,
    ).start()
    yield server
    server.stop()


class Browser:
    """A logged-in photographer on plain loopback HTTP, as the TLS proxy would pass it on."""

    def __init__(self, app, email):
        self.app = app
        self.cookies = {}
        status, headers, body = self.request("GET", "/accounts/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
        form = urllib.parse.urlencode({"email": email, "password": PASSWORD, "csrfmiddlewaretoken": token})
        status, headers, body = self.request(
            "POST", "/accounts/login/", form.encode(), {"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert status == 302 and "sessionid" in self.cookies, (status, body[:300])

    def request(self, method, path, body=None, headers=None, timeout=60):
        connection = http.client.HTTPConnection("127.0.0.1", self.app.port, timeout=timeout)
        try:
            headers = {
                "X-Forwarded-Proto": "https",
                "Referer": f"https://127.0.0.1:{self.app.port}/",
                "Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items()),
                **(headers or {}),
            }
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            for cookie in response.headers.get_all("Set-Cookie") or []:  # Secure cookies, kept anyway
                name, _, value = cookie.split(";")[0].partition("=")
                self.cookies[name] = value
            return response.status, response.headers, response.read()
        finally:
            connection.close()

    def upload(self, gallery, name, data):
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="{name}"\r\n'
                f"Content-Type: image/png\r\n\r\n"
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Accept": "application/json",
            "X-CSRFToken": self.cookies["csrftoken"],
        }
        return self.request("POST", f"/galleries/{gallery.pk}/photos/", body, headers)


def with_comment(png, number):
    """The same PNG with a comment of its own before IEND: other bytes, so not a duplicate."""
    text = b"Comment\x00copy %d" % number
    chunk = len(text).to_bytes(4, "big") + b"tEXt" + text + zlib.crc32(b"tEXt" + text).to_bytes(4, "big")
    return png[:-12] + chunk + png[-12:]


def memory_kib(pid, field):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(field)


def reset_peaks(pids):
    """Forget each worker's peak RSS so far (the kernel's clear_refs: 5 resets VmHWM to VmRSS)."""
    for pid in pids:
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def growth_mib(pids, before):
    """{pid: MiB} each worker's peak RSS since the reset, over its RSS then."""
    return {pid: (memory_kib(pid, "VmHWM") - before[pid]) / 1024 for pid in pids}


@pytest.fixture
def browser(app, gallery):
    browser = Browser(app, gallery.owner.email)
    small = photo_bytes("PNG", 3000, 2000, alpha=True)
    with ThreadPoolExecutor(4) as pool:  # both workers warm: imports, connections, libvips
        statuses = list(pool.map(lambda n: browser.upload(gallery, f"warm-{n}.png", small)[0], range(4)))
    assert statuses == [200] * 4
    return browser


def test_a_few_hundred_kb_png_of_150_megapixels_costs_little_even_four_at_once(app, gallery, browser, iq4_png):
    """One such PNG grows a worker by far less than its decoded gigabyte; eight uploaded in
    parallel grow the workers by less than 2 GiB together. (One server for both: starting
    gunicorn and warming both workers takes longer than either measurement.)"""
    pids = app.worker_pids()
    reset_peaks(pids)
    before = {pid: memory_kib(pid, "VmRSS") for pid in pids}
    status, _, body = browser.upload(gallery, "IQ4.png", iq4_png)
    assert status == 200, body[:500]
    growth = growth_mib(pids, before)
    print(f"\nOne {len(iq4_png) // 1024} KB PNG of 150 MP: worker growth {growth} MiB")
    assert max(growth.values()) < 400, growth
    photo = Gallery.objects.get(pk=gallery.pk).photos.get(original_filename="IQ4.png")
    assert (photo.width, photo.height) == IQ4_150MP

    reset_peaks(pids)
    before = {pid: memory_kib(pid, "VmRSS") for pid in pids}
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda n: browser.upload(gallery, f"IQ4-{n}.png", with_comment(iq4_png, n)), range(4)))
    assert [status for status, _, _ in results] == [200] * 4, [body[:300] for _, _, body in results]
    growth = growth_mib(pids, before)
    print(f"\n4 parallel uploads of a 150 MP PNG: worker growth {growth} MiB, {sum(growth.values()):.0f} MiB in all")
    assert sum(growth.values()) < 2048, growth
    assert gallery.photos.filter(original_filename__startswith="IQ4-").count() == 4
