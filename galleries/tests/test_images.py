"""Thumbnails and previews come out upright, in sRGB, without metadata; bad files are refused."""

import io
import random
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageCms, ImageOps

from galleries.images import PREVIEW_SIZE, THUMBNAIL_SIZE, ImageRejected, make_renditions
from galleries.tests.factories import image_bytes

TESTDATA = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "orientation"

# The transpose that undoes each EXIF orientation's transform, to draw stored pixels from an upright picture.
STORED_FROM_UPRIGHT = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def camera_jpeg(orientation, size=(3000, 2000), gps=False):
    """A JPEG whose upright picture is landscape with a red top-left corner, stored rotated for `orientation`."""
    upright = Image.new("RGB", size, (30, 90, 200))
    upright.paste((255, 0, 0), (0, 0, size[0] // 4, size[1] // 4))
    transpose = STORED_FROM_UPRIGHT[orientation]
    stored = upright if transpose is None else upright.transpose(transpose)
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "Test Camera Maker"
    if gps:
        exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", exif=exif, quality=90)
    buffer.seek(0)
    return buffer


def open_jpeg(data):
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    return image


@pytest.mark.parametrize("orientation", range(1, 9))
def test_renditions_are_upright_for_every_exif_orientation(orientation):
    renditions = make_renditions(camera_jpeg(orientation), max_pixels=50_000_000)

    assert (renditions.width, renditions.height) == (3000, 2000)
    for data, long_edge in [(renditions.thumbnail, THUMBNAIL_SIZE), (renditions.preview, PREVIEW_SIZE)]:
        image = open_jpeg(data)
        assert image.width == long_edge and abs(image.height - long_edge * 2 / 3) <= 1
        red, green, blue = image.getpixel((5, 5))
        assert red > 200 and green < 60 and blue < 60, "top-left corner should be red"
        red, green, blue = image.getpixel((image.width - 5, image.height - 5))
        assert blue > 150 and red < 80


def test_renditions_carry_no_metadata_so_no_gps_leaves():
    renditions = make_renditions(camera_jpeg(6, gps=True), max_pixels=50_000_000)
    for data in (renditions.thumbnail, renditions.preview):
        image = open_jpeg(data)
        assert not image.getexif()
        assert "exif" not in image.info and "icc_profile" not in image.info


def test_small_photos_are_not_enlarged():
    renditions = make_renditions(io.BytesIO(image_bytes(300, 200)), max_pixels=50_000_000)
    assert open_jpeg(renditions.preview).size == (300, 200)
    assert open_jpeg(renditions.thumbnail).size == (300, 200)


def test_embedded_colour_profile_is_applied_and_not_kept():
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = image_bytes(800, 600, icc_profile=profile)
    renditions = make_renditions(io.BytesIO(data), max_pixels=50_000_000)
    assert "icc_profile" not in open_jpeg(renditions.preview).info


@pytest.mark.parametrize(
    "data, message",
    [
        (b"GIF89a" + b"\0" * 100, "not a photo we can read"),
        (b"%PDF-1.4 hello", "not a photo we can read"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "not a photo we can read"),
        (image_bytes(1000, 800)[:5000], "damaged or incomplete"),
    ],
)
def test_unreadable_files_are_refused_with_a_clear_message(data, message):
    with pytest.raises(ImageRejected, match=message):
        make_renditions(io.BytesIO(data), max_pixels=50_000_000)


def test_gif_is_refused_even_though_pillow_can_read_it():
    with pytest.raises(ImageRejected):
        make_renditions(io.BytesIO(image_bytes(format="GIF", mode="P")), max_pixels=50_000_000)


def test_images_above_the_pixel_limit_are_refused_before_decoding():
    with pytest.raises(ImageRejected, match="megapixels"):
        make_renditions(io.BytesIO(image_bytes(2000, 1000)), max_pixels=1_999_999)


@pytest.mark.skipif(not TESTDATA.exists(), reason="../shared/testdata is not beside this clone")
@pytest.mark.parametrize("path", sorted(TESTDATA.glob("*.jpg")) if TESTDATA.exists() else [], ids=lambda p: p.name)
def test_real_photos_come_out_upright(path):
    expected = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    renditions = make_renditions(open(path, "rb"), max_pixels=50_000_000)

    assert (renditions.width, renditions.height) == expected.size
    for data in (renditions.thumbnail, renditions.preview):
        image = open_jpeg(data)
        assert (image.width > image.height) == path.name.startswith("Landscape")
        reference = expected.resize(image.size, Image.Resampling.LANCZOS)
        difference = ImageChops.difference(image.convert("RGB"), reference).convert("L")
        assert sum(difference.getdata()) / (image.width * image.height) < 12, "rendition differs from the upright original"


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_heic_photos_come_out_upright_too(orientation):
    stored = Image.open(camera_jpeg(orientation))
    heic = io.BytesIO()
    stored.save(heic, "HEIF", exif=stored.getexif().tobytes())
    heic.seek(0)

    renditions = make_renditions(heic, max_pixels=50_000_000)

    assert renditions.content_type == "image/heic"
    assert (renditions.width, renditions.height) == (3000, 2000)
    thumbnail = open_jpeg(renditions.thumbnail)
    red, green, blue = thumbnail.getpixel((5, 5))
    assert red > 200 and green < 60 and blue < 60, "top-left corner should be red"


def test_camera_mpo_jpegs_are_accepted_as_jpeg():
    first = Image.open(camera_jpeg(6))
    mpo = io.BytesIO()
    first.save(mpo, "MPO", save_all=True, append_images=[first.copy()], exif=first.getexif())
    mpo.seek(0)
    assert Image.open(mpo).format == "MPO"
    mpo.seek(0)

    renditions = make_renditions(mpo, max_pixels=50_000_000)

    assert renditions.content_type == "image/jpeg"
    assert (renditions.width, renditions.height) == (3000, 2000)
    red, green, blue = open_jpeg(renditions.thumbnail).getpixel((5, 5))
    assert red > 200 and green < 60 and blue < 60


@pytest.mark.parametrize("format", ["JPEG", "PNG", "TIFF", "WEBP", "HEIF"])
def test_corrupted_files_are_either_read_or_refused_never_a_crash(format):
    original = image_bytes(400, 300, format=format)
    generator = random.Random(format)
    for _ in range(40):
        data = bytearray(original)
        for _ in range(generator.randint(1, 20)):
            data[generator.randrange(len(data))] = generator.randrange(256)
        try:
            make_renditions(io.BytesIO(bytes(data)), max_pixels=50_000_000)
        except ImageRejected:
            pass
