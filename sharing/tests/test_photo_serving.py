"""One photo at a time: single downloads with ranges (S3 hands out signed URLs and serves them
itself; the app serves local files and stripped copies), revalidated thumbnails and previews
that read nothing from storage, HEAD on every public URL, and full-size JPEG links. On S3 and on
local storage."""

import io
import threading
import zipfile
from contextlib import contextmanager

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.tasks import default_task_backend
from django.urls import reverse
from PIL import Image

from galleries import copies, images
from galleries.models import Photo, PhotoCopy
from galleries.tasks import prepare_copies
from galleries.uploads import store_photo
from testing.http import fetch, get
from testing.photos import PRIVATE_VALUES, REAL_PHOTOS, photo_bytes, private_exif, private_photo, with_private_exif

pytestmark = pytest.mark.django_db


@pytest.fixture
def link(shared_gallery):
    """shared_gallery (two plain JPEGs) with a camera JPEG that has GPS, owner and serials."""
    store_photo(shared_gallery.gallery, SimpleUploadedFile("IMG_0003.jpg", private_photo("JPEG", 640, 480)))
    return shared_gallery


def original(photo):
    with default_storage.open(photo.object_key, "rb") as file:
        return file.read()


def download_url(link, photo):
    return reverse("sharing:photo_download", args=[link.pk, photo.pk])


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_a_shared_download_leaves_out_the_location_and_keeps_every_other_byte(client, link):
    photo = link.gallery.photos.get(original_filename="IMG_0003.jpg")
    response = client.get(download_url(link, photo))
    assert response.status_code == 200  # streamed by the app on S3 too: S3 holds the original only
    data = body(response)
    assert len(data) == int(response["Content-Length"]) == photo.file_size
    assert not any(value in data for value in PRIVATE_VALUES)
    assert sum(a != b for a, b in zip(data, original(photo), strict=True)) < 2000  # only the metadata
    with Image.open(io.BytesIO(data)) as image:
        assert not image.getexif().get_ifd(0x8825) and image.getexif()[0x010F] == "Canon"
    link.strip_location = False
    link.save()
    assert fetch(client.get(download_url(link, photo)))[0] == original(photo)  # as the photographer chose


@pytest.mark.skipif(not REAL_PHOTOS.is_dir(), reason="the shared test photos (../shared/testdata) are not here")
def test_no_location_survives_any_shared_download_of_the_real_camera_photos(client, shared_gallery):
    gallery = shared_gallery.gallery
    for path in sorted(REAL_PHOTOS.glob("*.jpg")):  # they have none: given GPS, owner and serials first
        store_photo(gallery, SimpleUploadedFile(path.name, with_private_exif(path.read_bytes())))
    downloads = [fetch(client.get(download_url(shared_gallery, photo)))[0] for photo in gallery.photos.all()]
    archive = zipfile.ZipFile(io.BytesIO(body(client.get(reverse("sharing:zip_download", args=[shared_gallery.pk])))))
    downloads += [archive.read(name) for name in archive.namelist()]
    assert len(downloads) == 2 * gallery.photos.count() > 20
    for data in downloads:
        with Image.open(io.BytesIO(data)) as image:
            assert not image.getexif().get_ifd(0x8825) and 0x8825 not in image.getexif()
        assert not any(value in data for value in PRIVATE_VALUES)


def test_a_single_download_answers_ranges_itself_or_through_s3(client, link, photo_storage):
    photo = link.gallery.photos.get(original_filename="IMG_0001.jpg")  # nothing private in it
    data = original(photo)
    response = client.get(download_url(link, photo), headers={"Range": "bytes=10-19"})
    if photo_storage == "s3":  # S3 serves the range itself, from a signed URL
        assert response.status_code == 302
        status, headers, part = get(response["Location"], headers={"Range": "bytes=10-19"})
    else:
        status, headers, part = response.status_code, response, body(response)
        assert response["ETag"] and response["Last-Modified"] and response["Accept-Ranges"] == "bytes"
    assert (status, headers["Content-Range"], part) == (206, f"bytes 10-19/{len(data)}", data[10:20])
    stripped = link.gallery.photos.get(original_filename="IMG_0003.jpg")
    resumed = client.get(download_url(link, stripped), headers={"Range": "bytes=1000-"})
    assert resumed.status_code == 206
    assert body(client.get(download_url(link, stripped)))[1000:] == body(resumed)
    link.refresh_from_db()
    assert link.single_downloads == 1  # the whole one only: ranges from further on resume downloads


def test_a_head_of_a_download_answers_its_headers_and_no_url(client, link):
    photo = link.gallery.photos.get(original_filename="IMG_0003.jpg")
    head = client.head(download_url(link, photo))
    assert head.status_code == 200 and "Location" not in head and head.content == b""
    assert head["Content-Length"] == str(photo.file_size) and head["Accept-Ranges"] == "bytes"
    assert head["Content-Disposition"] == 'attachment; filename="IMG_0003.jpg"'
    link.refresh_from_db()
    assert link.single_downloads == 0


def test_thumbnails_and_previews_revalidate_without_reading_storage(client, link, monkeypatch):
    photo = link.gallery.photos.first()
    for name in ("public_thumbnail", "public_preview"):
        url = reverse(f"sharing:{name}", args=[link.pk, photo.pk])
        first = client.get(url)
        assert first.status_code == 200 and first["Last-Modified"] and first["ETag"]
        storage = default_storage._wrapped
        monkeypatch.setattr(storage, "read_small", lambda key: pytest.fail(f"read {key}"))
        for headers in ({"If-None-Match": first["ETag"]}, {"If-Modified-Since": first["Last-Modified"]}):
            again = client.get(url, headers=headers)
            assert (again.status_code, again["ETag"]) == (304, first["ETag"])
            assert again["Cache-Control"] == "private, max-age=60"
        head = client.head(url)
        assert (head.status_code, head["ETag"], body(head)) == (200, first["ETag"], b"")
        monkeypatch.undo()
    assert client.head(reverse("sharing:public_preview", args=[link.pk, photo.pk]))["Content-Length"] == str(
        photo.preview_size
    )


def test_every_public_url_answers_head_as_get_without_a_body_or_a_count(client, link):
    photo = link.gallery.photos.first()
    photo_set = link.gallery.sets.create(name="Party")
    Photo.objects.filter(pk=photo.pk).update(photo_set=photo_set)
    urls = [
        reverse("sharing:public_gallery", args=[link.pk]),
        reverse("sharing:public_photo", args=[link.pk, photo.pk]),
        reverse("sharing:public_thumbnail", args=[link.pk, photo.pk]),
        reverse("sharing:public_preview", args=[link.pk, photo.pk]),
        download_url(link, photo),
        reverse("sharing:zip_download", args=[link.pk]),
        reverse("sharing:set_zip_download", args=[link.pk, photo_set.pk]),
        reverse("favourites:favourite_zip", args=[link.pk]),  # favourites are off: 404
    ]
    for url in urls:
        head = client.head(url)
        got = client.get(url)
        body(got)
        # A download's GET on S3 is a redirect to a signed URL, which a HEAD does not hand out.
        assert head.status_code == (200 if got.status_code == 302 else got.status_code), url
        assert body(head) == b"", url
        for header in ("Content-Type", "ETag", "Content-Disposition", "Accept-Ranges"):
            if got.status_code != 302:
                assert head.get(header) == got.get(header), (url, header)
    link.refresh_from_db()
    assert (link.views, link.zip_downloads, link.single_downloads) == (1, 2, 1)  # the GETs only


# Full-size JPEGs


@pytest.fixture
def jpeg_link(shared_gallery):
    """shared_gallery handing out full-size JPEGs, with a portrait HEIC stored turned (EXIF
    orientation 6) that has GPS, owner and serial numbers."""
    heic = photo_bytes("HEIF", 1500, 2000, orientation=6, exif=private_exif())
    store_photo(shared_gallery.gallery, SimpleUploadedFile("IMG_0003.HEIC", heic))
    shared_gallery.download_size = "jpeg"
    shared_gallery.save()
    return shared_gallery


def test_a_heic_downloads_as_a_full_size_jpeg_made_once(client, jpeg_link, django_capture_on_commit_callbacks):
    heic = jpeg_link.gallery.photos.get(original_filename="IMG_0003.HEIC")
    data, headers = fetch(client.get(download_url(jpeg_link, heic)))
    assert 'filename="IMG_0003.jpg"' in headers["Content-Disposition"]
    with Image.open(io.BytesIO(data)) as image:
        assert (image.format, image.size, image.mode) == ("JPEG", (1500, 2000), "RGB")
        assert image.getexif().get(0x0112) == 1 and image.getexif()[0x010F] == "Canon"  # upright, EXIF kept
        assert image.getpixel((10, 10))[0] > 200 > image.getpixel((1400, 1900))[0]  # red top-left: upright
    assert not any(value in data for value in PRIVATE_VALUES)  # the link removes locations
    made = PhotoCopy.objects.get(photo=heic)
    assert made.size == len(data) and made.object_key == heic.copy_key("jpeg")

    jpeg = jpeg_link.gallery.photos.get(original_filename="IMG_0001.jpg")
    assert fetch(client.get(download_url(jpeg_link, jpeg)))[0] == original(jpeg)  # JPEGs as they are
    archive = zipfile.ZipFile(io.BytesIO(body(client.get(reverse("sharing:zip_download", args=[jpeg_link.pk])))))
    assert archive.namelist() == ["IMG_0003.jpg", "IMG_0001.jpg", "IMG_0002.jpg"]  # by capture time
    assert archive.read("IMG_0003.jpg") == data
    assert PhotoCopy.objects.get().created_at == made.created_at  # made once

    with django_capture_on_commit_callbacks(execute=True):
        heic.delete()
    assert not default_storage.exists(made.object_key)  # deleted with its photo


def test_a_jpeg_download_converts_only_with_a_free_decode_slot_else_leaves_it_to_the_worker(
    client, jpeg_link, settings, monkeypatch
):
    """Converting decodes the whole photo, one at a time per process: a download that finds every
    decode slot taken (another conversion, an upload) waits for none, answers 503 with
    Retry-After and has the worker make the JPEG once; later ones stream it."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    monkeypatch.setattr(images, "_decode_slots", threading.BoundedSemaphore(1))
    conversions = []
    full_size_jpeg = images.full_size_jpeg
    monkeypatch.setattr(images, "full_size_jpeg", lambda file: conversions.append(1) or full_size_jpeg(file))
    heic = jpeg_link.gallery.photos.get(original_filename="IMG_0003.HEIC")
    url = download_url(jpeg_link, heic)

    monkeypatch.setattr(copies, "_converting", {heic.pk})  # another request converting this photo:
    assert client.get(url).status_code == 503  # no wait for the slot (free here), it stores the JPEG
    monkeypatch.setattr(copies, "_converting", set())
    images._decode_slots.acquire()  # another request converting another photo
    try:
        busy = client.get(url, headers={"Accept": "application/json"})
        page = client.get(url)
    finally:
        images._decode_slots.release()
    assert busy.status_code == page.status_code == 503 and 5 <= int(busy["Retry-After"]) <= 60
    seconds = busy["Retry-After"]
    assert busy.json() == {
        "error": f"This photo is being converted to a full-size JPEG. Please try again in {seconds} seconds."
    }
    assert f'http-equiv="refresh" content="{page["Retry-After"]}"' in page.text
    [queued] = default_task_backend.results  # asked once, for both
    assert queued.task.name == prepare_copies.name and conversions == []
    prepare_copies.call(*queued.args)  # the worker runs it

    data = fetch(client.get(url))[0]
    resumed = client.get(url, headers={"Range": "bytes=1000-"})
    if resumed.status_code == 302:  # S3 serves the stored copy's ranges itself
        resumed = get(resumed["Location"], headers={"Range": "bytes=1000-"})
        assert (resumed[0], resumed[2]) == (206, data[1000:])
    else:
        assert (resumed.status_code, body(resumed)) == (206, data[1000:])
    assert data[:2] == b"\xff\xd8" and len(conversions) == 1
    jpeg_link.refresh_from_db()
    assert jpeg_link.single_downloads == 1  # the 503s counted nothing


def test_parallel_jpeg_downloads_convert_a_photo_once(client, jpeg_link, monkeypatch):
    """Requests that waited for the decode slot while one converted the photo find its JPEG made
    once they hold the slot, and serve that."""
    conversions = []
    full_size_jpeg = images.full_size_jpeg
    monkeypatch.setattr(images, "full_size_jpeg", lambda file: conversions.append(1) or full_size_jpeg(file))
    heic = jpeg_link.gallery.photos.get(original_filename="IMG_0003.HEIC")
    decode_slot = images.decode_slot
    waited = []

    @contextmanager
    def after_another_request(timeout=None):
        if not waited:  # another request took the slot first and converted the photo meanwhile
            waited.append(timeout)
            copies.prepare(heic, jpeg_link.delivery)
        with decode_slot(timeout):
            yield

    monkeypatch.setattr(images, "decode_slot", after_another_request)
    data = fetch(client.get(download_url(jpeg_link, heic)))[0]
    assert waited == [copies.REQUEST_DECODE_WAIT]
    assert len(conversions) == 1 and len(data) == PhotoCopy.objects.get(photo=heic).size


def test_a_zip_waits_for_copies_the_worker_has_not_made_yet(client, jpeg_link, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    PhotoCopy.objects.all().delete()
    url = reverse("sharing:zip_download", args=[jpeg_link.pk])
    waiting = client.get(url)
    assert waiting.status_code == 503 and 5 <= int(waiting["Retry-After"]) <= 60
    assert "1 of 3 photos is being converted to full-size JPEGs" in waiting.text
    assert f'http-equiv="refresh" content="{waiting["Retry-After"]}"' in waiting.text
    [queued] = default_task_backend.results
    assert queued.task.name == prepare_copies.name
    client.get(url)  # asking again while the worker works queues nothing more
    assert len(default_task_backend.results) == 1
    prepare_copies.call(*queued.args)  # the worker runs it
    assert client.get(url).status_code == 200
    jpeg_link.refresh_from_db()
    assert jpeg_link.zip_downloads == 1


def test_a_photo_that_cannot_be_converted_is_handed_out_as_it_is(client, jpeg_link, monkeypatch):
    def fails(file):
        raise images.ImageRejected(images.OUT_OF_MEMORY)

    monkeypatch.setattr(images, "full_size_jpeg", fails)
    archive = zipfile.ZipFile(io.BytesIO(body(client.get(reverse("sharing:zip_download", args=[jpeg_link.pk])))))
    heic = jpeg_link.gallery.photos.get(original_filename="IMG_0003.HEIC")
    assert archive.namelist() == ["IMG_0003.HEIC", "IMG_0001.jpg", "IMG_0002.jpg"]
    assert len(archive.read("IMG_0003.HEIC")) == heic.file_size


# Photos stored before downloads knew what they need


def test_a_zip_of_photos_stored_before_gets_their_facts_once(client, link):
    Photo.objects.update(crc32=None, private_metadata=None, stripped_crc32=None, preview_crc32=None)
    archive = zipfile.ZipFile(io.BytesIO(body(client.get(reverse("sharing:zip_download", args=[link.pk])))))
    assert archive.testzip() is None
    assert not Photo.objects.filter(crc32=None).exists()
    assert b"Jane Owner" not in archive.read("IMG_0003.jpg")


def test_fill_download_facts_reads_each_object_once(link, monkeypatch):
    def facts():
        return {p.pk: (p.crc32, p.private_metadata, p.stripped_crc32, p.preview_crc32) for p in Photo.objects.all()}

    expected = facts()
    Photo.objects.update(crc32=None, private_metadata=None, stripped_crc32=None, preview_crc32=None)
    read = []
    storage = default_storage._wrapped
    iter_chunks = storage.iter_chunks
    monkeypatch.setattr(storage, "iter_chunks", lambda key, **kwargs: read.append(key) or iter_chunks(key, **kwargs))
    out = io.StringIO()
    call_command("fill_download_facts", stdout=out)
    assert "3 of 3 photos are ready for downloads" in out.getvalue()
    assert facts() == expected
    assert sorted(read) == sorted(key for p in Photo.objects.all() for key in (p.object_key, p.preview_object_key))
