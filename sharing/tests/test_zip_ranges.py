"""ZIP downloads that survive a dropped connection: the same bytes on every download, any range
of them on request, a resumed range that reads only what it covers, counted once per archive;
and the stripped copies that links hand out by default. On S3 and on local storage."""

import io
import subprocess
import zipfile
from datetime import datetime

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile as Upload
from django.urls import reverse
from django.utils import timezone

from galleries.models import Photo, PhotoSet
from galleries.tests.factories import GalleryFactory, stored_random_photo
from galleries.uploads import store_photo
from sharing.tests.factories import ShareLinkFactory
from testing.photos import private_photo

pytestmark = pytest.mark.django_db

CAPTURED = datetime(2024, 6, 1, 14, 3, 22)  # private_photo()'s EXIF DateTimeOriginal


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def counters(link):
    link.refresh_from_db()
    return link.zip_downloads, link.single_downloads


@pytest.fixture
def album(photo_storage):
    """A shared gallery (a new link: locations removed) of three camera photos with GPS, owner
    and serial numbers, one of them in the set "Ceremony"."""
    gallery = GalleryFactory(name="Smith wedding")
    ceremony = PhotoSet.objects.create(gallery=gallery, name="Ceremony")
    for name, format, photo_set in [("IMG_1.jpg", "JPEG", None), ("IMG_2.heic", "HEIF", ceremony)]:
        store_photo(gallery, Upload(name, private_photo(format, 300, 200)), photo_set)
    store_photo(gallery, Upload("IMG_3.png", private_photo("PNG", 120, 90)), ceremony)
    return ShareLinkFactory(gallery=gallery)


def zip_url(link):
    return reverse("sharing:zip_download", args=[link.pk])


def assert_archive_is_sound(data, tmp_path):
    path = tmp_path / "archive.zip"
    path.write_bytes(data)
    for command in (["unzip", "-t", path], ["7z", "t", path]):
        result = subprocess.run(command, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
    assert zipfile.ZipFile(path).testzip() is None


def test_two_downloads_of_a_gallery_are_the_same_sound_archive_of_stripped_copies(client, album, tmp_path):
    first = client.get(zip_url(album))
    assert first.status_code == 200 and first["Accept-Ranges"] == "bytes"
    assert first["ETag"].startswith('"') and not first["ETag"].startswith("W/")
    data = body(first)
    assert len(data) == int(first["Content-Length"])
    assert body(client.get(zip_url(album))) == data
    assert_archive_is_sound(data, tmp_path)

    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.namelist() == ["IMG_1.jpg", "Ceremony/IMG_2.heic", "Ceremony/IMG_3.png"]
    for info in archive.infolist():
        assert info.compress_type == zipfile.ZIP_STORED
        assert info.external_attr >> 16 == 0o100644
        assert info.date_time == CAPTURED.timetuple()[:6]  # the capture time, in the site's zone
        content = archive.read(info)
        photo = album.gallery.photos.get(original_filename=info.filename.split("/")[-1])
        assert len(content) == photo.file_size
        for secret in (b"Jane Owner", b"SN-4471-0923", b"GPSLatitude", b"CANON-SERIAL-77"):
            assert secret not in content, (info.filename, secret)
    assert counters(album) == (1, 0)  # one visitor, one archive, one day: one download


def test_the_photographers_link_choice_keeps_the_location(client, album):
    album.strip_location = False
    album.save()
    archive = zipfile.ZipFile(io.BytesIO(body(client.get(zip_url(album)))))
    photo = album.gallery.photos.get(original_filename="IMG_1.jpg")
    with default_storage.open(photo.object_key, "rb") as original:
        assert archive.read("IMG_1.jpg") == original.read()


def test_a_download_cut_anywhere_resumes_to_the_same_archive_and_counts_once(client, album):
    whole = client.get(zip_url(album))
    etag, data = whole["ETag"], body(whole)
    second_header = data.index(b"PK\x03\x04", 1)
    # In the first header, in the first photo, at the second header, in the central directory, the last byte.
    for offset in (1, 20, 2000, second_header, data.index(b"PK\x01\x02") + 10, len(data) - 1):
        resumed = client.get(zip_url(album), headers={"Range": f"bytes={offset}-", "If-Range": etag})
        assert resumed.status_code == 206, offset
        assert resumed["Content-Range"] == f"bytes {offset}-{len(data) - 1}/{len(data)}"
        assert int(resumed["Content-Length"]) == len(data) - offset
        assert data[:offset] + body(resumed) == data, offset
    assert counters(album) == (1, 0)


def test_ranges_count_a_download_when_they_reach_the_end_once_per_visitor_and_day(client, album):
    photo = album.gallery.photos.first()
    single = reverse("sharing:photo_download", args=[album.pk, photo.pk])
    for url in (zip_url(album), single):
        for _ in range(5):  # the first byte again and again: never the whole file
            body(client.get(url, headers={"Range": "bytes=0-0"}))
    assert counters(album) == (0, 0)
    for url in (zip_url(album), single):
        body(client.get(url, headers={"Range": "bytes=1-"}))  # all but the first byte
        for _ in range(3):
            body(client.get(url, headers={"Range": "bytes=-1"}))
    assert counters(album) == (1, 1)
    for url in (zip_url(album), single):  # another browser is another visitor
        body(client.get(url, headers={"User-Agent": "Firefox"}))
    assert counters(album) == (2, 2)


def test_zip_ranges_answer_as_for_any_file(client, album):
    whole = client.get(zip_url(album))
    data, etag = body(whole), whole["ETag"]
    size = len(data)

    middle = client.get(zip_url(album), headers={"Range": "bytes=100-199"})
    assert (middle.status_code, middle["Content-Range"], body(middle)) == (206, f"bytes 100-199/{size}", data[100:200])
    tail = client.get(zip_url(album), headers={"Range": "bytes=-50"})
    assert body(tail) == data[-50:] and tail["Content-Range"] == f"bytes {size - 50}-{size - 1}/{size}"
    past = client.get(zip_url(album), headers={"Range": f"bytes={size}-"})
    assert (past.status_code, past["Content-Range"]) == (416, f"bytes */{size}")
    changed = client.get(zip_url(album), headers={"Range": "bytes=100-", "If-Range": '"another-version"'})
    assert changed.status_code == 200 and body(changed) == data  # the archive changed: all of it, anew
    several = client.get(zip_url(album), headers={"Range": "bytes=0-9,20-29"})
    assert several.status_code == 200 and body(several) == data
    assert client.get(zip_url(album), headers={"If-None-Match": etag}).status_code == 304

    head = client.head(zip_url(album))
    assert (head.status_code, head["Content-Length"], head["ETag"], head.content) == (200, str(size), etag, b"")
    ranged_head = client.head(zip_url(album), headers={"Range": "bytes=10-"})
    assert ranged_head.status_code == 206 and ranged_head.content == b""
    # Counted once: the answers that reach the archive's end (the first, the tail, the changed
    # one's, the one for several ranges) are one visitor's of one archive on one day; the range
    # that stops short, the HEADs, 304 and 416 count nothing.
    assert counters(album) == (1, 0)


def test_range_numbers_of_any_length_get_an_answer_not_an_error(client, album):
    size = int(client.head(zip_url(album))["Content-Length"])
    huge = "9" * 4301  # past Python's limit for int() of a string
    for header, expected in [
        (f"bytes={huge}-", (416, f"bytes */{size}")),
        (f"bytes=0-{huge}", (200, None)),  # to the end: the whole archive
        (f"bytes=-{huge}", (200, None)),
        (f"bytes={'0' * 5000}1-{'0' * 5000}9", (206, f"bytes 1-9/{size}")),
    ]:
        response = client.get(zip_url(album), headers={"Range": header})
        body(response)  # read to the end: its stream slot is free again
        assert (response.status_code, response.get("Content-Range")) == expected, header[:20]


def test_the_archive_changes_its_etag_when_its_content_would(client, album):
    etag = client.head(zip_url(album))["ETag"]
    album.strip_location = False
    album.save()
    unstripped = client.head(zip_url(album))["ETag"]
    Photo.objects.filter(original_filename="IMG_3.png").update(captured_at=timezone.now())
    assert len({etag, unstripped, client.head(zip_url(album))["ETag"]}) == 3


def test_a_tail_range_reads_from_storage_only_the_photos_it_covers(client, photo_storage, monkeypatch):
    gallery = GalleryFactory()
    for n in range(4):
        stored_random_photo(gallery, 1_000_000, f"IMG_{n}.jpg")
    link = ShareLinkFactory(gallery=gallery)
    read = []
    storage = default_storage._wrapped  # the active backend (photo_storage chose it)
    iter_chunks = storage.iter_chunks

    def counting(key, *args, **kwargs):
        for chunk in iter_chunks(key, *args, **kwargs):
            read.append(len(chunk))
            yield chunk

    monkeypatch.setattr(storage, "iter_chunks", counting)
    length = int(client.head(zip_url(link))["Content-Length"])
    assert length > 4_000_000
    tail = client.get(zip_url(link), headers={"Range": "bytes=-300000"})
    assert len(body(tail)) == 300_000
    assert 300_000 - 1000 < sum(read) <= 300_000  # the last photo's end; the rest are headers


def test_one_network_streams_at_most_two_zips_at_once(client, album, settings):
    settings.VIEWPORT_ZIP_STREAMS = 4
    streaming = [client.get(zip_url(album)) for _ in range(2)]
    assert [response.status_code for response in streaming] == [200, 200]
    refused = client.get(zip_url(album))
    assert refused.status_code == 429 and refused["Retry-After"] == "30"
    assert "already downloading 2 archives" in refused.text
    assert client.get(zip_url(album), REMOTE_ADDR="192.0.2.1").status_code == 200  # another network
    for response in streaming:
        body(response)  # the client reads them to the end: their streams are over
    assert client.get(zip_url(album)).status_code == 200
