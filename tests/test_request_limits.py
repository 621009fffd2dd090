"""Request bodies are bounded before anything reads them.

A photo upload may be as large as its photos may be (VIEWPORT_MAX_UPLOAD_SIZE times the files a
request may carry, plus the form around them); every other request, and an upload by someone not
logged in, only VIEWPORT_MAX_REQUEST_SIZE. A body declared larger is refused with 413 before a
byte of it is read or spooled to disk; a chunked body (no declared size) is read up to the
limit and refused with 413 once it passes it, or else handed to Django with its size.
"""

import io
import socket
import threading
import time

import pytest
from django.conf import settings as django_settings
from django.template.defaultfilters import filesizeformat
from django.urls import reverse

from galleries.tests.factories import GalleryFactory, jpeg_upload
from testing.appserver import AppServer, production_env
from viewport.middleware import slots

pytestmark = pytest.mark.django_db

GIGABYTE = 1024**3


def upload_url(gallery):
    return reverse("galleries:photo_upload", args=[gallery.pk])


def padded_form(length):
    """A well-formed multipart body of exactly `length` bytes: one field of padding."""
    head, tail = b'--BoUnDaRy\r\nContent-Disposition: form-data; name="pad"\r\n\r\n', b"\r\n--BoUnDaRy--\r\n"
    return head + b"x" * (length - len(head) - len(tail)) + tail


def declared_post(client, url, length, body=b"x", **headers):
    """A POST that announces `length` bytes but carries only `body` (the test client's payload
    fails the test if anything reads past what it carries)."""
    return client.generic(
        "POST",
        url,
        body,
        content_type="multipart/form-data; boundary=BoUnDaRy",
        CONTENT_LENGTH=str(length),
        headers=headers,
    )


def test_an_anonymous_body_over_the_small_limit_is_refused_with_413_before_it_is_read(client, settings):
    settings.VIEWPORT_MAX_REQUEST_SIZE = 1024 * 1024
    response = declared_post(client, reverse("accounts:login"), GIGABYTE)
    assert response.status_code == 413
    assert "text/html" in response["Content-Type"]
    assert "too large" in response.text
    assert "Content-Security-Policy" in response  # an error page like the others

    form = {"username": "a@example.com", "password": "x" * (1024 * 1024)}
    assert client.post(reverse("accounts:login"), form).status_code == 413


def test_every_url_but_the_upload_takes_only_small_bodies(client, settings):
    gallery = GalleryFactory()
    client.force_login(gallery.owner)
    settings.VIEWPORT_MAX_REQUEST_SIZE = 10_000
    for url in [
        reverse("galleries:gallery_rename", args=[gallery.pk]),
        reverse("sharing:share_link_create", args=[gallery.pk]),
        reverse("accounts:profile"),
        reverse("admin:index"),
    ]:
        assert declared_post(client, url, 10_001).status_code == 413, url
        assert declared_post(client, url, 10_000, padded_form(10_000)).status_code != 413, url


def test_the_owner_may_upload_up_to_the_upload_limit(client, settings):
    gallery = GalleryFactory()
    client.force_login(gallery.owner)
    settings.VIEWPORT_MAX_REQUEST_SIZE = 10_000
    settings.VIEWPORT_MAX_UPLOAD_SIZE = 200_000
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 3
    limit = 3 * 200_000 + 10_000

    photo = jpeg_upload(width=400, height=300)
    response = client.post(upload_url(gallery), {"photos": [photo]}, headers={"Accept": "application/json"})
    assert response.status_code == 200 and len(response.json()["photos"]) == 1

    # Exactly at the limit the body is read (and found to hold no photo); one byte more is refused.
    assert declared_post(client, upload_url(gallery), limit, padded_form(limit)).status_code == 302
    response = declared_post(client, upload_url(gallery), limit + 1, Accept="application/json")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert "3 photos" in error and filesizeformat(200_000) in error


def test_an_upload_by_someone_not_logged_in_gets_the_small_limit(client, settings):
    gallery = GalleryFactory()
    settings.VIEWPORT_MAX_REQUEST_SIZE = 10_000
    assert declared_post(client, upload_url(gallery), 10_001).status_code == 413
    assert declared_post(client, upload_url(gallery), 10_000, padded_form(10_000)).status_code == 302  # to the login


def test_a_chunked_body_is_read_up_to_the_limit_then_refused_with_413(client, settings):
    settings.VIEWPORT_MAX_REQUEST_SIZE = 10_000

    def post_chunked(body):
        # As gunicorn hands it on: the body de-chunked, its size undeclared.
        return client.generic(
            "POST",
            reverse("accounts:login"),
            CONTENT_TYPE="application/x-www-form-urlencoded",
            CONTENT_LENGTH="",
            HTTP_TRANSFER_ENCODING="chunked",
            **{"wsgi.input": io.BytesIO(body)},
        )

    response = post_chunked(b"email=x%40example.com&" + b"p" * 20_000)
    assert response.status_code == 413
    small = post_chunked(b"email=ada%40example.com&password=wrong")
    assert small.status_code == 200
    assert small.context["form"].data["email"] == "ada@example.com"  # the body reached the form


# The same through gunicorn, with raw sockets: nothing reaches the upload temp folder.


@pytest.fixture(scope="module")
def upload_temp_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("uploads")


@pytest.fixture(scope="module")
def app(upload_temp_dir, static_root):
    env = production_env(VIEWPORT_STATIC_ROOT=str(static_root), VIEWPORT_UPLOAD_TEMP_DIR=str(upload_temp_dir))
    server = AppServer(env, workers=1, threads=4).start()
    yield server
    server.stop()


def send_request(app, head, body_chunks):
    """Send the request head, then the body from a thread (the server may stop reading it);
    return the socket to read the answer from."""
    connection = socket.create_connection(("127.0.0.1", app.port), timeout=10)
    connection.sendall(head)

    def send_body():
        try:
            for chunk in body_chunks:
                connection.sendall(chunk)
        except OSError:
            pass  # the server answered and closed: what we want

    threading.Thread(target=send_body, daemon=True).start()
    return connection


def read_status(connection, timeout=5):
    connection.settimeout(timeout)
    answer = b""
    try:
        while b"\r\n\r\n" not in answer:
            data = connection.recv(65536)
            if not data:
                break
            answer += data
    except TimeoutError:
        pytest.fail(f"no answer within {timeout} s: {answer[:200]!r}")
    return int(answer.split(b" ", 2)[1]), answer


# What a browser behind the TLS proxy sends; any CSRF cookie will do for Django to read the body.
POST_HEADERS = (
    "Host: 127.0.0.1\r\nX-Forwarded-Proto: https\r\nReferer: https://127.0.0.1/accounts/login/\r\n"
    f"Cookie: csrftoken={'a' * 32}\r\nContent-Type: multipart/form-data; boundary=BoUnDaRy\r\n"
)


def multipart_head(path, length):
    return f"POST {path} HTTP/1.1\r\n{POST_HEADERS}Content-Length: {length}\r\n\r\n".encode()


def file_part_then(megabytes):
    yield b'--BoUnDaRy\r\nContent-Disposition: form-data; name="photos"; filename="big.jpg"\r\n\r\n'
    for _ in range(megabytes):
        yield b"\xff" * (1024 * 1024)


def assert_nothing_spooled(folder, seconds=1.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        spooled = {path.name: path.stat().st_size for path in folder.iterdir()}
        assert spooled == {}, "the body is being written to disk"
        time.sleep(0.05)


@pytest.mark.parametrize("path", ["/accounts/login/", "/galleries/00000000-0000-4000-8000-000000000000/photos/"])
def test_a_huge_anonymous_multipart_body_is_refused_by_gunicorn_before_it_is_spooled(app, upload_temp_dir, path):
    connection = send_request(app, multipart_head(path, GIGABYTE), file_part_then(8))
    with connection:
        assert_nothing_spooled(upload_temp_dir)
        status, _ = read_status(connection)
        assert status == 413
    assert app.get("/healthz/")[0] == 200


def test_a_huge_chunked_body_is_refused_by_gunicorn_with_413_and_nothing_spooled(app, upload_temp_dir):
    head = f"POST /accounts/login/ HTTP/1.1\r\n{POST_HEADERS}Transfer-Encoding: chunked\r\n\r\n".encode()
    chunks = (b"%x\r\n%s\r\n" % (len(part), part) for part in file_part_then(8))
    connection = send_request(app, head, chunks)
    with connection:
        assert_nothing_spooled(upload_temp_dir)
        status, _ = read_status(connection)
        assert status == 413


def test_the_default_limits():
    assert django_settings.VIEWPORT_MAX_REQUEST_SIZE == 1024 * 1024
    assert django_settings.DATA_UPLOAD_MAX_NUMBER_FILES == 10


def test_uploads_beyond_the_slots_are_a_503_that_says_retry(client, settings):
    """Uploads wait for a decode while holding a thread: when every upload slot is taken, one
    more is refused at once (upload.js sends it again) instead of taking a thread pages need."""
    settings.VIEWPORT_UPLOAD_SLOTS = 1
    gallery = GalleryFactory()
    client.force_login(gallery.owner)
    busy = slots("uploads", 1)
    assert busy.acquire(blocking=False)  # an upload in progress
    try:
        response = client.post(upload_url(gallery), {"photos": [jpeg_upload()]}, headers={"Accept": "application/json"})
        assert response.status_code == 503
        assert set(response.json()) == {"error"} and int(response["Retry-After"]) > 0
        assert gallery.photos.count() == 0
        assert client.get(reverse("galleries:gallery_list")).status_code == 200  # pages are not slots
    finally:
        busy.release()
    response = client.post(upload_url(gallery), {"photos": [jpeg_upload()]}, headers={"Accept": "application/json"})
    assert response.status_code == 200 and gallery.photos.count() == 1
