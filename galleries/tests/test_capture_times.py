"""Capture times: read during the upload's one decode, stored, and the order of the day shown;
a command fills them in for photos uploaded before."""

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from PIL import Image

from galleries.models import Photo
from galleries.uploads import store_photo
from sharing.tests.factories import ShareLinkFactory
from testing.photos import camera_jpeg, photo_bytes

pytestmark = pytest.mark.django_db

TESTDATA = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "orientation"
START = datetime(2024, 6, 1, 15, 0)  # the cameras' clocks: local time, no offset

# A wedding's first minutes from two bodies: a Nikon (DSC_…) and a Canon (IMG_…), whose file
# names sort each camera's photos together, while the day went back and forth between them.
# The last two were taken in one second; only their sub-seconds tell them apart.
SHOTS = [
    ("DSC_0001.JPG", "NIKON CORPORATION", "NIKON Z 6", timedelta(seconds=0), None),
    ("IMG_0001.JPG", "Canon", "Canon EOS R5", timedelta(seconds=40), None),
    ("DSC_0002.JPG", "NIKON CORPORATION", "NIKON Z 6", timedelta(minutes=2), None),
    ("IMG_0002.JPG", "Canon", "Canon EOS R5", timedelta(minutes=3), None),
    ("IMG_0003.JPG", "Canon", "Canon EOS R5", timedelta(minutes=5), "75"),
    ("DSC_0003.JPG", "NIKON CORPORATION", "NIKON Z 6", timedelta(minutes=5), "80"),
]
IN_TIME_ORDER = ["DSC_0001.JPG", "IMG_0001.JPG", "DSC_0002.JPG", "IMG_0002.JPG", "IMG_0003.JPG", "DSC_0003.JPG"]


def real_photos():
    return sorted(TESTDATA.glob("*.jpg"))[: len(SHOTS)] if TESTDATA.is_dir() else []


@pytest.fixture(params=["real", "made"])
def camera_files(request):
    """The shots as uploads: real camera JPEGs (the shared test photos, their EXIF replaced by
    the cameras', pixels untouched) when ../shared is beside the repository, or JPEGs made here."""
    if request.param == "real" and not real_photos():
        pytest.skip("the shared test photos (../shared/testdata) are not here")
    sources = real_photos() if request.param == "real" else [None] * len(SHOTS)
    return [
        SimpleUploadedFile(
            name,
            camera_jpeg(START + after, make, model, subseconds=subseconds, jpeg=source and source.read_bytes()),
            content_type="image/jpeg",
        )
        for (name, make, model, after, subseconds), source in zip(SHOTS, sources, strict=False)
    ]


def test_two_cameras_photos_show_in_the_order_the_day_happened(client, gallery, photo_storage, camera_files):
    for upload in sorted(camera_files, key=lambda upload: upload.name):  # as a folder lists them
        response = client.post(
            reverse("galleries:photo_upload", args=[gallery.pk]),
            {"photos": [upload]},
            headers={"Accept": "application/json"},
        )
        assert response.status_code == 200, response.content
    stored = {photo.original_filename: photo for photo in gallery.photos.all()}
    assert stored["IMG_0003.JPG"].captured_at == datetime(2024, 6, 1, 15, 5, 0, 750000, tzinfo=UTC)  # TIME_ZONE is UTC

    page = client.get(gallery.get_absolute_url())
    assert [photo.original_filename for photo in page.context["page"].object_list] == IN_TIME_ORDER
    link = ShareLinkFactory(gallery=gallery)
    public = client.get(link.get_absolute_url())
    assert [photo.original_filename for photo in public.context["page"].object_list] == IN_TIME_ORDER
    tiles = [public.text.index(f'id="tile-{stored[name].pk}"') for name in IN_TIME_ORDER]
    assert tiles == sorted(tiles)  # and the viewer steps through them in that order


def test_a_time_without_offset_is_read_in_the_sites_time_zone_and_one_with_its_own(gallery, settings):
    settings.TIME_ZONE = "Europe/Paris"
    camera = store_photo(gallery, SimpleUploadedFile("DSC_0001.JPG", camera_jpeg(datetime(2024, 6, 1, 14, 2))))
    phone = store_photo(
        gallery,
        SimpleUploadedFile(
            "IMG_4001.HEIC.jpg", camera_jpeg(datetime(2024, 6, 1, 14, 1, 30), "Apple", "iPhone 15", offset="+02:00")
        ),
    )
    late_phone = store_photo(
        gallery,
        SimpleUploadedFile(
            "IMG_4002.jpg", camera_jpeg(datetime(2024, 6, 1, 13, 3), "Apple", "iPhone 15", offset="+01:00")
        ),
    )  # set to another zone: 12:03 UTC, after the camera's 12:02 UTC
    assert camera.captured_at == datetime(2024, 6, 1, 12, 2, tzinfo=UTC)
    assert phone.captured_at == datetime(2024, 6, 1, 12, 1, 30, tzinfo=UTC)
    assert list(gallery.ordered_photos()) == [phone, camera, late_phone]


def test_a_photo_without_a_capture_time_has_none(gallery):
    photo = store_photo(gallery, SimpleUploadedFile("scan.jpg", _plain_jpeg()))
    assert photo.captured_at is None


@pytest.mark.parametrize(
    "taken, offset, time_zone",
    [
        (datetime(9999, 12, 31, 23, 59, 59), "-14:00", "UTC"),  # 10000-01-01 in UTC
        (datetime(9999, 12, 31, 23, 0), None, "America/New_York"),  # read in the site's zone
    ],
)
def test_a_capture_time_beyond_the_years_a_database_keeps_is_none(client, gallery, settings, taken, offset, time_zone):
    # PostgreSQL stored such a time, and then the gallery's pages, its links' pages and its ZIP
    # answered 500, for good; SQLite refused the upload with an error.
    settings.TIME_ZONE = time_zone
    upload = SimpleUploadedFile("odd.jpg", camera_jpeg(taken, offset=offset), content_type="image/jpeg")
    response = client.post(
        reverse("galleries:photo_upload", args=[gallery.pk]),
        {"photos": [upload]},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200, response.content
    assert Photo.objects.get().captured_at is None
    assert client.get(gallery.get_absolute_url()).status_code == 200


def _plain_jpeg():
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 20, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def noisy_camera_jpeg(taken):
    """A camera JPEG of about a megabyte (noise does not compress), its EXIF at the start."""
    buffer = io.BytesIO()
    Image.merge("RGB", [Image.effect_noise((1000, 700), 90)] * 3).save(buffer, "JPEG", quality=95)
    return camera_jpeg(taken, jpeg=buffer.getvalue())


def test_the_command_fills_capture_times_reading_only_the_head_of_a_jpeg(gallery, photo_storage, monkeypatch):
    big = store_photo(gallery, SimpleUploadedFile("DSC_0001.JPG", noisy_camera_jpeg(datetime(2024, 6, 1, 15, 0, 1))))
    png = store_photo(
        gallery,
        SimpleUploadedFile(
            "scan.png", photo_bytes("PNG", 64, 48, orientation=1, exif=_exif_with_date("2024:06:01 15:00:00"))
        ),
    )
    without = store_photo(gallery, SimpleUploadedFile("plain.jpg", _plain_jpeg()))
    assert big.file_size > 600_000 and png.captured_at is not None
    Photo.objects.update(captured_at=None)

    read = []
    storage = default_storage._wrapped  # the active backend (photo_storage chose it)
    iter_chunks = storage.iter_chunks

    def counting(key, chunk_size):
        for chunk in iter_chunks(key, chunk_size):
            read.append((key, len(chunk)))
            yield chunk

    monkeypatch.setattr(storage, "iter_chunks", counting)
    out = io.StringIO()
    call_command("fill_capture_times", stdout=out)
    assert "2 photos got their capture time; 1 have none; 0 could not be read." in out.getvalue()
    for photo in (big, png, without):
        photo.refresh_from_db()
    assert big.captured_at == datetime(2024, 6, 1, 15, 0, 1, tzinfo=UTC)
    assert png.captured_at == datetime(2024, 6, 1, 15, 0, tzinfo=UTC)
    assert without.captured_at is None
    assert 0 < sum(size for key, size in read if key == big.object_key) <= 256 * 1024 < big.file_size
    assert list(gallery.ordered_photos()) == [png, big, without]


def _exif_with_date(date_time):
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = date_time
    return exif.tobytes()
