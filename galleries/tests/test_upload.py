import io

import pytest
from django.core.files.storage import default_storage, storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from galleries.models import Photo
from galleries.tests.factories import GalleryFactory, image_bytes, jpeg_upload
from galleries.uploads import clean_filename
from testing.http import upload
from testing.photos import png_bomb

pytestmark = [pytest.mark.django_db, pytest.mark.pixels]


def read(key):
    with default_storage.open(key, "rb") as file:
        return file.read()


def test_upload_stores_original_byte_for_byte_with_thumbnail_preview_sizes_and_placeholder(
    client, gallery, photo_storage, stored_keys
):
    original = image_bytes(1200, 800)
    response = upload(client, gallery, SimpleUploadedFile("IMG_0001.jpg", original, "image/jpeg"))

    assert response.status_code == 200
    body = response.json()
    assert body["errors"] == []
    [created] = body["photos"]
    assert created["file_name"] == "IMG_0001.jpg"
    assert (created["width"], created["height"]) == (1200, 800)
    assert created["thumbnail_url"] == reverse("galleries:photo_thumbnail", args=[gallery.pk, created["id"]])

    photo = Photo.objects.get(pk=created["id"])
    assert photo.object_key == f"{gallery.pk}/{photo.pk}/IMG_0001.jpg"
    assert photo.thumbnail_object_key == f"{gallery.pk}/thumbnails/{photo.pk}.jpg"
    assert photo.preview_object_key == f"{gallery.pk}/previews/{photo.pk}.jpg"
    assert photo.file_size == len(original)
    assert read(photo.object_key) == original
    assert Image.open(io.BytesIO(read(photo.thumbnail_object_key))).size == (640, 427)
    assert Image.open(io.BytesIO(read(photo.preview_object_key))).size == (1200, 800)
    sizes = {
        "160.webp": (160, 107),
        "240.webp": (240, 160),
        "320.webp": (320, 213),
        "400.webp": (400, 267),
        "480.webp": (480, 320),
        "600.webp": (600, 400),
        "720.webp": (720, 480),
        "960.webp": (960, 640),
        "1080.webp": (1080, 720),
        "1080.jpg": (1080, 720),
    }
    assert photo.size_keys == {name: f"{gallery.pk}/sizes/{photo.pk}/{name}" for name in sizes}
    for name, size in sizes.items():
        image = Image.open(io.BytesIO(read(photo.size_keys[name])))
        assert (image.format, image.size) == ("WEBP" if name.endswith("webp") else "JPEG", size)
    assert stored_keys(f"{gallery.pk}/") == sorted(
        [photo.object_key, photo.thumbnail_object_key, photo.preview_object_key, *photo.size_keys.values()]
    )
    placeholder = Image.open(io.BytesIO(photo.placeholder))
    assert (placeholder.format, placeholder.size) == ("WEBP", (8, 5)) and len(photo.placeholder) < 120


def test_one_bad_file_in_a_batch_fails_alone_and_leaves_nothing(client, gallery, photo_storage, stored_keys):
    good = [jpeg_upload(f"IMG_{n}.jpg", color=(n * 60, 80, 40)) for n in range(3)]
    bad = [
        SimpleUploadedFile("notes.jpg", b"this is not a photo at all", "image/jpeg"),
        SimpleUploadedFile("empty.jpg", b"", "image/jpeg"),
        SimpleUploadedFile("bomb.png", png_bomb(), "image/png"),
        SimpleUploadedFile("cut.jpg", image_bytes(800, 600)[:3000], "image/jpeg"),
        SimpleUploadedFile("page.html", b"<html><script>alert(1)</script></html>", "text/html"),
    ]
    response = upload(client, gallery, good[0], *bad[:3], good[1], *bad[3:], good[2])

    assert response.status_code == 200
    body = response.json()
    assert sorted(p["file_name"] for p in body["photos"]) == ["IMG_0.jpg", "IMG_1.jpg", "IMG_2.jpg"]
    errors = {e["file_name"]: e["message"] for e in body["errors"]}
    assert set(errors) == {"notes.jpg", "empty.jpg", "bomb.png", "cut.jpg", "page.html"}
    assert "not a photo" in errors["notes.jpg"]
    assert "empty" in errors["empty.jpg"]
    assert "megapixels" in errors["bomb.png"]
    assert "damaged or incomplete" in errors["cut.jpg"]
    assert gallery.photos.count() == 3
    assert sorted(stored_keys(f"{gallery.pk}/")) == sorted(gallery.photos.object_keys())  # and nothing else


def test_file_over_the_size_limit_is_refused(client, gallery, settings, photo_storage, stored_keys):
    settings.VIEWPORT_MAX_UPLOAD_SIZE = 10_000
    response = upload(client, gallery, jpeg_upload(width=2000, height=2000, quality=100))
    assert response.status_code == 400
    assert "limit is" in response.json()["errors"][0]["message"]
    assert stored_keys(f"{gallery.pk}/") == []


def test_image_above_the_pixel_limit_is_refused(client, gallery, settings):
    settings.VIEWPORT_MAX_IMAGE_PIXELS = 1000 * 1000
    response = upload(client, gallery, jpeg_upload(width=1001, height=1000))
    assert response.status_code == 400
    assert "megapixels" in response.json()["errors"][0]["message"]


def test_two_files_with_the_same_name_both_survive(client, gallery, photo_storage):
    first, second = image_bytes(color=(10, 10, 10)), image_bytes(color=(250, 250, 250))
    upload(client, gallery, SimpleUploadedFile("IMG_0001.jpg", first, "image/jpeg"))
    upload(client, gallery, SimpleUploadedFile("IMG_0001.jpg", second, "image/jpeg"))

    photos = list(gallery.photos.order_by("uploaded_at"))
    assert [p.original_filename for p in photos] == ["IMG_0001.jpg", "IMG_0001.jpg"]
    assert photos[0].object_key != photos[1].object_key
    assert [read(p.object_key) for p in photos] == [first, second]


@pytest.mark.parametrize(
    "name, expected",
    [
        ("../../etc/passwd.jpg", "passwd.jpg"),
        ("C:\\Users\\ana\\IMG_1.jpg", "IMG_1.jpg"),
        ('bad\r\nname"<x>\x00.jpg', "badnamex.jpg"),
        ("a" * 300 + ".jpg", "a" * 146 + ".jpg"),
        ("..", "photo"),
        ("Café déjà vu.JPG", "Café déjà vu.JPG"),
        # Browsers escape a quote as %22 (and CR, LF) in a multipart file name: the same name as sent by a script.
        ("say %22cheese%22, Zoë.jpg", "say cheese, Zoë.jpg"),
        ("two%0D%0Alines.jpg", "two lines.jpg"),
        ("100%25 sure.jpg", "100%25 sure.jpg"),
    ],
)
def test_file_names_are_made_safe(name, expected):
    assert clean_filename(name) == expected


def test_uploaded_file_name_is_cleaned_for_the_row_and_the_key(client, gallery):
    response = upload(client, gallery, jpeg_upload("../../" + "a" * 300 + ".jpg"))
    photo = Photo.objects.get(pk=response.json()["photos"][0]["id"])
    assert photo.original_filename == "a" * 146 + ".jpg"
    assert photo.object_key == f"{gallery.pk}/{photo.pk}/{'a' * 146}.jpg"


@pytest.mark.parametrize(
    "format, content_type, options",
    [
        ("PNG", "image/png", {"mode": "RGBA", "color": (0, 128, 255, 128)}),
        ("WEBP", "image/webp", {}),
        ("TIFF", "image/tiff", {}),
        ("HEIF", "image/heic", {}),
        ("JPEG", "image/jpeg", {"mode": "CMYK", "color": (0, 128, 255, 0)}),
        ("PNG", "image/png", {"mode": "I;16", "color": 40000}),
    ],
)
def test_accepted_formats_are_stored_with_their_own_content_type(client, gallery, format, content_type, options):
    data = image_bytes(format=format, **options)
    response = upload(client, gallery, SimpleUploadedFile("photo.bin", data, "application/octet-stream"))
    assert response.status_code == 200, response.json()
    photo = Photo.objects.get(pk=response.json()["photos"][0]["id"])
    assert photo.content_type == content_type
    assert read(photo.object_key) == data
    assert Image.open(io.BytesIO(read(photo.thumbnail_object_key))).mode == "RGB"


def test_upload_without_javascript_redirects_with_messages(client, gallery):
    response = upload(client, gallery, jpeg_upload("good.jpg"), SimpleUploadedFile("bad.jpg", b"nope"), json=False)
    assert response.status_code == 302
    assert response.url == gallery.get_absolute_url()
    page = client.get(response.url)
    assert "1 photo uploaded." in page.text
    assert "bad.jpg: This file is not a photo" in page.text


def test_upload_with_no_files_is_a_clear_error(client, gallery):
    response = upload(client, gallery)
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "Choose at least one photo to upload."


def test_failed_storage_write_leaves_no_row_and_no_object(client, gallery, photo_storage, stored_keys, monkeypatch):
    storage = storages["default"]
    real_save = storage.save

    def save_thumbnails_then_fail(name, content, **kwargs):
        if not name.startswith(f"{gallery.pk}/thumbnails/"):
            raise ConnectionError("storage went away")
        return real_save(name, content, **kwargs)

    monkeypatch.setattr(storage, "save", save_thumbnails_then_fail)
    response = upload(client, gallery, jpeg_upload(), jpeg_upload("second.jpg"))

    assert response.status_code == 503
    assert [e["file_name"] for e in response.json()["errors"]] == ["IMG_0001.jpg", "second.jpg"]
    assert not gallery.photos.exists()
    assert stored_keys(f"{gallery.pk}/") == []


def test_another_users_gallery_is_a_404_for_uploads(client, gallery):
    other = GalleryFactory()
    response = upload(client, other, jpeg_upload())
    assert response.status_code == 404
    assert not other.photos.exists()


def test_upload_requires_login(client):
    gallery = GalleryFactory()
    response = client.post(reverse("galleries:photo_upload", args=[gallery.pk]), {"photos": [jpeg_upload()]})
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_a_script_whose_session_ended_gets_json_not_the_login_page(client):
    """upload.js reads JSON: a redirect to the login page reached it as an HTML page with status
    200, and the photographer saw "could not store this file (HTTP 200)"."""
    gallery = GalleryFactory()
    response = upload(client, gallery, jpeg_upload())
    assert response.status_code == 401
    assert "log in" in response.json()["error"].lower()
    assert not gallery.photos.exists()


def test_a_script_refused_by_the_csrf_check_gets_json(gallery):
    client = Client(enforce_csrf_checks=True)
    client.force_login(gallery.owner)
    response = upload(client, gallery, jpeg_upload())
    assert response.status_code == 403
    assert response.json()["error"]
    assert not gallery.photos.exists()
