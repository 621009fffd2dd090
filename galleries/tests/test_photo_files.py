"""Owners get their originals back byte for byte; the S3 bucket is private and signed URLs are checked."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from galleries.storage import presigned_url
from galleries.tests.factories import GalleryFactory, image_bytes
from galleries.uploads import store_photo
from testing.http import fetch, get

pytestmark = pytest.mark.django_db


@pytest.fixture
def photo(client, photo_storage):
    gallery = GalleryFactory()
    client.force_login(gallery.owner)
    return store_photo(gallery, SimpleUploadedFile("Café 1.jpg", image_bytes(900, 600), "image/jpeg"))


def test_owner_downloads_the_original_with_its_file_name(client, photo, photo_storage):
    response = client.get(reverse("galleries:photo_download", args=[photo.gallery_id, photo.pk]))
    original = default_storage.open(photo.object_key).read()
    if photo_storage == "s3":
        assert response.status_code == 302
        query = parse_qs(urlsplit(response.url).query)
        assert query["response-content-disposition"] == ["attachment; filename*=utf-8''Caf%C3%A9%201.jpg"]
    else:
        assert response.status_code == 200
    body, headers = fetch(response)
    assert headers["Content-Disposition"] == "attachment; filename*=utf-8''Caf%C3%A9%201.jpg"
    assert headers["Content-Type"] == "image/jpeg"
    assert body == original


@pytest.mark.parametrize("view", ["photo_thumbnail", "photo_preview"])
def test_thumbnails_and_previews_are_served_as_inline_jpeg(client, photo, photo_storage, view):
    # Through the app on both backends, so every request meets the access checks again.
    response = client.get(reverse(f"galleries:{view}", args=[photo.gallery_id, photo.pk]))
    assert response.status_code == 200
    body, headers = fetch(response)
    assert headers["Content-Type"] == "image/jpeg"
    assert headers["Content-Disposition"].startswith("inline")
    assert body[:3] == b"\xff\xd8\xff"


def test_the_bucket_is_private(photo, photo_storage):
    if photo_storage != "s3":
        pytest.skip("S3 only")
    unsigned = f"{default_storage.endpoint_url}/{default_storage.bucket_name}/{quote(photo.object_key)}"
    assert get(unsigned)[0] == 403


def test_tampered_and_expired_signed_urls_are_refused(photo, photo_storage):
    if photo_storage != "s3":
        pytest.skip("S3 only")
    url = default_storage.url(photo.object_key)
    assert get(url)[2] == default_storage.open(photo.object_key).read()

    other = default_storage.url(photo.thumbnail_object_key)
    tampered = url.split("?")[0] + "?" + other.split("?")[1]
    assert get(tampered)[0] == 403

    expired = presigned_url(
        method="GET",
        base_url=f"{default_storage.endpoint_url}/{default_storage.bucket_name}",
        key=photo.object_key,
        region="us-east-1",
        access_key=default_storage.access_key,
        secret_key=default_storage.secret_key,
        signed_at=datetime.now(UTC) - timedelta(hours=1),
        expires_in=60,
        query={},
    )
    assert get(expired)[0] == 403


def test_signed_urls_stay_the_same_within_a_window_so_browsers_can_cache(photo, photo_storage):
    if photo_storage != "s3":
        pytest.skip("S3 only")
    assert default_storage.url(photo.thumbnail_object_key) == default_storage.url(photo.thumbnail_object_key)


def test_healthz_reports_database_and_storage(client, photo_storage):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["database"], body["storage"]) == ("ok", "ok", "ok")
