import io
import subprocess
import urllib.parse
import zipfile

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from galleries.tests.factories import GalleryFactory, jpeg_upload
from galleries.uploads import store_photo
from sharing import zips
from sharing.tests.factories import ShareLinkFactory
from testing.http import fetch

pytestmark = pytest.mark.django_db


def original_bytes(photo):
    with default_storage.open(photo.object_key, "rb") as file:
        return file.read()


def zip_body(response):
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert int(response["Content-Length"]) == len(body)
    return body


def test_photo_download_hands_out_the_original_with_its_file_name(client, shared_gallery):
    upload = jpeg_upload("Émilie & Jo.jpg", width=800, height=600)
    expected = upload.read()
    upload.seek(0)
    photo = store_photo(shared_gallery.gallery, upload)
    response = client.get(reverse("sharing:photo_download", args=[shared_gallery.pk, photo.pk]))
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    body, headers = fetch(response)
    assert body == expected
    if response.status_code == 302:  # S3: the signed URL asks S3 to send the file name
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(response["Location"]).query)
        assert query["response-content-disposition"][0] == "attachment; filename*=utf-8''%C3%89milie%20%26%20Jo.jpg"
    assert headers["Content-Disposition"] == "attachment; filename*=utf-8''%C3%89milie%20%26%20Jo.jpg"


def test_photo_download_counts_one_single_download(client, shared_gallery):
    photo = shared_gallery.gallery.photos.first()
    response = client.get(reverse("sharing:photo_download", args=[shared_gallery.pk, photo.pk]))
    fetch(response)
    shared_gallery.refresh_from_db()
    assert (shared_gallery.views, shared_gallery.zip_downloads, shared_gallery.single_downloads) == (0, 0, 1)


def test_zip_download_streams_every_original_byte_for_byte(client, shared_gallery, tmp_path):
    photos = list(shared_gallery.gallery.photos.in_display_order())
    response = client.get(reverse("sharing:zip_download", args=[shared_gallery.pk]))
    assert response.streaming
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="Smith wedding.zip"'
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    body = zip_body(response)
    path = tmp_path / "gallery.zip"
    path.write_bytes(body)
    result = subprocess.run(["unzip", "-t", path], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == ["IMG_0001.jpg", "IMG_0002.jpg"]
        for info, photo in zip(archive.infolist(), photos, strict=False):
            assert info.compress_type == zipfile.ZIP_STORED
            assert archive.read(info) == original_bytes(photo)


def test_zip_download_counts_one_zip_download(client, shared_gallery):
    zip_body(client.get(reverse("sharing:zip_download", args=[shared_gallery.pk])))
    shared_gallery.refresh_from_db()
    assert (shared_gallery.views, shared_gallery.zip_downloads, shared_gallery.single_downloads) == (0, 1, 0)


def test_zip_download_gives_duplicate_and_unsafe_names_unique_safe_entries(client, photo_storage, tmp_path):
    gallery = GalleryFactory(name="Mariage à Noël / 2024")
    for name in ["IMG_0001.jpg", "img_0001.jpg", "IMG_0001.jpg", "..\\..\\evil.jpg", "../up.jpg"]:
        store_photo(gallery, jpeg_upload(name, width=64, height=48))
    link = ShareLinkFactory(gallery=gallery)
    response = client.get(reverse("sharing:zip_download", args=[link.pk]))
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''Mariage%20%C3%A0%20No%C3%ABl%20-%202024.zip"
    )
    body = zip_body(response)
    (tmp_path / "g.zip").write_bytes(body)
    assert subprocess.run(["unzip", "-t", tmp_path / "g.zip"], capture_output=True).returncode == 0
    names = zipfile.ZipFile(io.BytesIO(body)).namelist()
    assert sorted(names) == sorted(["IMG_0001.jpg", "img_0001 (2).jpg", "IMG_0001 (3).jpg", "evil.jpg", "up.jpg"])


def test_zip_download_of_an_empty_gallery_is_a_valid_empty_zip(client, photo_storage):
    link = ShareLinkFactory()
    body = zip_body(client.get(reverse("sharing:zip_download", args=[link.pk])))
    assert zipfile.ZipFile(io.BytesIO(body)).namelist() == []


def test_object_chunks_streams_a_stored_object_in_chunks(shared_gallery):
    photo = shared_gallery.gallery.photos.first()
    chunks = list(default_storage.iter_chunks(photo.object_key, chunk_size=1000))
    assert len(chunks) > 1
    assert all(len(chunk) <= 1000 for chunk in chunks)
    assert b"".join(chunks) == original_bytes(photo)


@pytest.mark.parametrize(
    ("filenames", "expected"),
    [
        (["a.jpg", "b.jpg"], ["a.jpg", "b.jpg"]),
        (["IMG_0001.jpg", "IMG_0001.jpg", "IMG_0001.jpg"], ["IMG_0001.jpg", "IMG_0001 (2).jpg", "IMG_0001 (3).jpg"]),
        (["A.JPG", "a.jpg"], ["A.JPG", "a (2).jpg"]),
        (["x.jpg", "x.jpg", "x (2).jpg"], ["x.jpg", "x (3).jpg", "x (2).jpg"]),
        (
            ["../../etc/passwd", "C:\\Users\\me\\pic.jpg", "nul\x00byte.jpg", "tab\tname.jpg"],
            ["passwd", "pic.jpg", "nulbyte.jpg", "tabname.jpg"],
        ),
        (["", ".."], ["photo", "photo (2)"]),
    ],
)
def test_zip_entry_names_are_safe_and_unique(filenames, expected):
    assert zips.entry_names(filenames) == expected
