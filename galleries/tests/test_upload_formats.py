"""Every accepted format, small and past the preview size, through the upload endpoint: the original
is stored byte for byte (on S3 and on local storage), next to an upright thumbnail and preview.

The pixel-level matrix (every size, depth and transparency) is in test_images.py; this is the part of
it that goes through the whole upload, where a decoder that closed the uploaded file lost the photo.
"""

import io

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from galleries.images import PREVIEW_SIZE, THUMBNAIL_SIZE, fit_within
from galleries.models import Photo
from testing.http import upload
from testing.photos import photo_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.pixels]

# (file name, format, bits, alpha, content type): one of each format, in its heaviest common shape.
FORMATS = [
    ("IMG_0001.jpg", "JPEG", 8, False, "image/jpeg"),
    ("scan.png", "PNG", 16, True, "image/png"),
    ("logo.png", "PNG", 8, False, "image/png"),
    ("export.tif", "TIFF", 16, True, "image/tiff"),
    ("export-8bit.tif", "TIFF", 8, False, "image/tiff"),
    ("web.webp", "WEBP", 8, True, "image/webp"),
    ("IMG_0002.heic", "HEIF", 16, False, "image/heic"),
]
SIZES = {"small": (300, 200), "past the preview": (3000, 2000)}


def read(key):
    with default_storage.open(key, "rb") as file:
        return file.read()


def assert_stored(photo, original, content_type, size):
    assert photo.content_type == content_type
    assert (photo.width, photo.height) == size
    assert photo.file_size == len(original)
    assert read(photo.object_key) == original, "the original must be stored byte for byte"
    for key, long_edge in [(photo.thumbnail_object_key, THUMBNAIL_SIZE), (photo.preview_object_key, PREVIEW_SIZE)]:
        image = Image.open(io.BytesIO(read(key)))
        assert (image.format, image.mode, image.size) == ("JPEG", "RGB", fit_within(size, long_edge))
        red, green, blue = image.getpixel((image.width // 8, image.height // 8))
        assert red > 200 and green < 60 and blue < 60, "upright: the red corner is at the top left"


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name, format, bits, alpha, content_type", FORMATS, ids=[row[0] for row in FORMATS])
def test_every_format_is_stored_byte_for_byte_with_its_renditions(
    client, gallery, photo_storage, name, format, bits, alpha, content_type, size
):
    original = photo_bytes(format, *SIZES[size], bits=bits, alpha=alpha)

    response = upload(client, gallery, SimpleUploadedFile(name, original, "application/octet-stream"))

    assert response.status_code == 200, response.content[:500]
    body = response.json()
    assert body["errors"] == []
    [created] = body["photos"]
    assert (created["width"], created["height"]) == SIZES[size]
    assert_stored(Photo.objects.get(pk=created["id"]), original, content_type, SIZES[size])


def test_a_batch_of_every_format_past_the_preview_size_is_stored_whole(client, gallery, photo_storage, stored_keys):
    """A big PNG or TIFF first in the batch used to be a 500 that dropped every file after it."""
    width, height = 3000, 2000
    originals = {
        name: photo_bytes(format, width, height, bits=bits, alpha=alpha) for name, format, bits, alpha, _ in FORMATS
    }
    big_tiff = photo_bytes(
        "TIFF", width, height, orientation=6, compression="none"
    )  # 18 MB: spooled to a temporary file
    assert len(big_tiff) > 2_621_440
    originals["uncompressed.tif"] = big_tiff
    files = [SimpleUploadedFile(name, data, "image/png") for name, data in originals.items()]

    response = upload(client, gallery, *files)

    assert response.status_code == 200
    body = response.json()
    assert body["errors"] == []
    assert sorted(photo["file_name"] for photo in body["photos"]) == sorted(originals)
    content_types = {name: content_type for name, _, _, _, content_type in FORMATS} | {"uncompressed.tif": "image/tiff"}
    for photo in gallery.photos.all():
        assert_stored(
            photo, originals[photo.original_filename], content_types[photo.original_filename], (width, height)
        )
    assert len(stored_keys(f"{gallery.pk}/")) == 13 * len(originals)  # original, thumbnail, preview, 10 sizes


def test_a_photo_over_the_pixel_limit_is_refused_in_json_and_the_rest_is_stored(client, gallery, settings):
    settings.VIEWPORT_MAX_IMAGE_PIXELS = 5_000_000
    too_big = SimpleUploadedFile("too-big.png", photo_bytes("PNG", 3000, 2000), "image/png")
    fine = SimpleUploadedFile("fine.tif", photo_bytes("TIFF", 2000, 1500), "image/tiff")

    response = upload(client, gallery, too_big, fine)

    assert response.status_code == 200
    body = response.json()
    assert [photo["file_name"] for photo in body["photos"]] == ["fine.tif"]
    assert body["errors"] == [
        {
            "file_name": "too-big.png",
            "message": "This image has 3000 × 2000 pixels (6.0 megapixels), more than the 5.0 megapixels we accept.",
        }
    ]
