"""A gallery download cut short resumes where it stopped, against the app as production runs it
(gunicorn, DEBUG off), with the tools clients use: curl -C -, then unzip and 7-Zip on the result.
On S3 and on local storage."""

import socket
import subprocess

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from galleries.models import PhotoSet
from galleries.tests.factories import GalleryFactory, stored_random_photo
from galleries.uploads import store_photo
from sharing.tests.factories import ShareLinkFactory
from testing.appserver import AppServer, production_env, running_database_url
from testing.photos import PRIVATE_VALUES, private_photo

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def link(photo_storage):
    gallery = GalleryFactory(name="Hotel wifi wedding")
    party = PhotoSet.objects.create(gallery=gallery, name="Party")
    store_photo(gallery, SimpleUploadedFile("IMG_0001.jpg", private_photo("JPEG", 800, 600)))
    for n in range(2, 5):
        stored_random_photo(gallery, 700_000, f"IMG_{n:04d}.jpg", photo_set=party)
    return ShareLinkFactory(gallery=gallery)


@pytest.fixture
def app(link, photo_storage, tmp_path, static_root):
    env = production_env(DATABASE_URL=running_database_url(), VIEWPORT_STATIC_ROOT=str(static_root))
    if photo_storage == "local":  # where the photo_storage fixture put the photos
        env.update(AWS_STORAGE_BUCKET_NAME="", VIEWPORT_DATA_DIR=str(tmp_path))
    server = AppServer(env, workers=1, threads=4).start()
    yield server
    server.stop()


def curl(app, path, output, *options):
    result = subprocess.run(
        ["curl", "-sS", "--fail", "-H", "X-Forwarded-Proto: https", *options, "-o", output, app.url + path],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return output.read_bytes()


def cut_download(app, path, after):
    """A client that reads `after` bytes of the archive, then drops the connection."""
    client = socket.create_connection(("127.0.0.1", app.port))
    client.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-Proto: https\r\n\r\n".encode())
    received = b""
    while b"\r\n\r\n" not in received:
        received += client.recv(65536)
    head, data = received.split(b"\r\n\r\n", 1)
    while len(data) < after:
        data += client.recv(after - len(data))
    client.close()
    assert head.startswith(b"HTTP/1.1 200") and b"\r\nAccept-Ranges: bytes\r\n" in head
    return data[:after]


def test_a_dropped_zip_download_resumes_with_curl_to_the_same_sound_archive(app, link, tmp_path):
    path = reverse("sharing:zip_download", args=[link.pk])
    whole = curl(app, path, tmp_path / "whole.zip")
    assert curl(app, path, tmp_path / "again.zip") == whole  # byte-stable
    for tool in (["unzip", "-t"], ["7z", "t"]):
        result = subprocess.run([*tool, tmp_path / "whole.zip"], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
    assert b"Party/IMG_0004.jpg" in whole and not any(value in whole for value in PRIVATE_VALUES)

    # Cut by the network in the first photo, in the third, and just before the end.
    for after in (5_000, 1_700_000, len(whole) - 10):
        partial = tmp_path / f"cut-{after}.zip"
        partial.write_bytes(cut_download(app, path, after))
        assert curl(app, path, partial, "-C", "-") == whole, after

    link.refresh_from_db()
    assert link.zip_downloads == 2  # curl and the client cut short: two visitors, one archive, one day

    # One photo, whole and a range: sent by the app (os.sendfile) on local storage, by S3 itself
    # through a signed URL.
    photo = link.gallery.photos.get(original_filename="IMG_0003.jpg")
    stored = b"".join(default_storage.iter_chunks(photo.object_key))
    single = reverse("sharing:photo_download", args=[link.pk, photo.pk])
    assert curl(app, single, tmp_path / "one.jpg", "-L") == stored
    assert curl(app, single, tmp_path / "part.jpg", "-L", "-r", "1000-1999") == stored[1000:2000]
