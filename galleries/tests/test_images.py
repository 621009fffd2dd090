"""Thumbnails and previews come out upright, in sRGB, without metadata; bad files are refused."""

import io
import random
import re
import struct
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import pyvips
from PIL import Image, ImageChops, ImageCms, ImageOps, PngImagePlugin

from galleries import images
from galleries.images import (
    PREVIEW_SIZE,
    THUMBNAIL_SIZE,
    ImageRejected,
    fit_within,
    limit_concurrent_decodes,
    make_renditions,
)
from testing.photos import BLUE, RED, WHITE, image_bytes, photo_bytes

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
    sizes = [(renditions.sizes[name], int(name.split(".")[0])) for name in ("320.webp", "1080.webp", "1080.jpg")]
    for data, long_edge in [(renditions.thumbnail, THUMBNAIL_SIZE), (renditions.preview, PREVIEW_SIZE), *sizes]:
        image = Image.open(io.BytesIO(data)).convert("RGB")
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
    assert list(renditions.sizes) == ["160.webp", "240.webp", "320.webp"]  # the last: the whole photo, as WebP
    assert Image.open(io.BytesIO(renditions.sizes["320.webp"])).size == (300, 200)


SMALL = ["160.webp", "240.webp"]


@pytest.mark.parametrize(
    "size, names",
    [
        ((150, 100), ["160.webp"]),
        ((300, 200), [*SMALL, "320.webp"]),
        ((500, 400), [*SMALL, "320.webp", "400.webp", "480.webp", "600.webp"]),  # 600: the photo; the thumbnail too
        ((640, 427), [*SMALL, "320.webp", "400.webp", "480.webp", "600.webp", "720.webp"]),
        ((700, 500), [*SMALL, "320.webp", "400.webp", "480.webp", "600.webp", "720.webp", "1080.jpg"]),
        (
            (1000, 600),
            [*SMALL, "320.webp", "400.webp", "480.webp", "600.webp", "720.webp", "960.webp", "1080.webp", "1080.jpg"],
        ),
        (
            (12000, 3000),
            [*SMALL, "320.webp", "400.webp", "480.webp", "600.webp", "720.webp", "960.webp", "1080.webp", "1080.jpg"],
        ),
    ],
)
def test_a_photo_gets_each_size_that_adds_one_and_none_that_enlarges_it(size, names):
    assert images.sizes_for(size) == names


def test_the_placeholder_is_a_tiny_webp_of_the_whole_picture():
    renditions = make_renditions(io.BytesIO(photo_bytes("JPEG", 3000, 2000)), max_pixels=50_000_000)
    placeholder = Image.open(io.BytesIO(renditions.placeholder)).convert("RGB")
    assert placeholder.size == (8, 5) and len(renditions.placeholder) < 120
    top_left, bottom_right = placeholder.getpixel((0, 0)), placeholder.getpixel((7, 4))
    assert top_left[0] > bottom_right[0] + 60, "the red corner, upright, blurred into the blue"
    assert_close(bottom_right, BLUE, tolerance=40)


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
        assert sum(difference.getdata()) / (image.width * image.height) < 12, (
            "rendition differs from the upright original"
        )


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_heic_photos_come_out_upright_too(orientation):
    stored = Image.open(camera_jpeg(orientation))
    heic = io.BytesIO()
    stored.save(heic, "HEIF", exif=stored.getexif().tobytes(), enc_params={"preset": "ultrafast"})
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


# Every accepted format at every size: 8 and 16 bits (HEIC: 10), with and without transparency.

SIZES = {
    "1px": (1, 1),
    "small": (300, 200),
    "preview": (PREVIEW_SIZE, 1365),
    "past": (3000, 2000),
    "large": (6000, 4000),
}
EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "TIFF": ".tif", "WEBP": ".webp", "HEIF": ".heic"}
CONTENT_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "TIFF": "image/tiff",
    "WEBP": "image/webp",
    "HEIF": "image/heic",
}


def variants():
    for format in ("JPEG", "PNG", "TIFF", "WEBP", "HEIF"):
        for bits in (8, 16) if format in ("PNG", "TIFF", "HEIF") else (8,):
            for alpha in (False, True) if format != "JPEG" else (False,):
                for size in SIZES:
                    if format == "HEIF" and size == "large":
                        continue  # x265 takes seconds; bench/decode_memory.py decodes a 48 MP HEIC
                    yield pytest.param(
                        format, bits, alpha, size, id=f"{format}-{bits}bit{'-alpha' if alpha else ''}-{size}"
                    )


def assert_close(actual, expected, tolerance=30, where=""):
    assert all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=False)), (
        f"{actual} is not {expected} {where}"
    )


def assert_picture(data, upright_size, long_edge, alpha):
    """A rendition of photo_bytes(): an sRGB RGB JPEG without metadata, upright, transparency on white."""
    image = open_jpeg(data)
    assert image.mode == "RGB"
    assert image.size == fit_within(upright_size, long_edge)
    assert not image.getexif() and "icc_profile" not in image.info
    width, height = image.size
    assert_close(image.getpixel((width // 8, height // 8)), RED, where="at the top left: upright?")
    if min(width, height) >= 8:
        assert_close(image.getpixel((width // 2, height // 2)), BLUE, where="in the middle")
        assert_close(
            image.getpixel((width * 7 // 8, height * 7 // 8)), WHITE if alpha else BLUE, where="at the bottom right"
        )
        assert_close(image.getpixel((width * 7 // 8, height // 8)), BLUE, where="at the top right: upright?")


@pytest.mark.parametrize("format, bits, alpha, size", variants())
def test_every_format_size_depth_and_transparency_makes_upright_srgb_renditions(format, bits, alpha, size):
    width, height = SIZES[size]
    data = photo_bytes(format, width, height, bits=bits, alpha=alpha)
    file = io.BytesIO(data)

    renditions = make_renditions(file, max_pixels=50_000_000)

    assert (renditions.width, renditions.height) == (width, height)
    assert renditions.content_type == CONTENT_TYPES[format]
    assert renditions.extension == EXTENSIONS[format]
    assert_picture(renditions.thumbnail, (width, height), THUMBNAIL_SIZE, alpha)
    assert_picture(renditions.preview, (width, height), PREVIEW_SIZE, alpha)
    assert not file.closed and file.tell() == 0 and file.read() == data, (
        "the caller stores the original from this file next"
    )


@pytest.fixture(scope="module")
def display_p3_profile():
    image = pyvips.Image.black(1, 1, bands=3).copy(interpretation="srgb").icc_transform("p3", input_profile="srgb")
    return image.get("icc-profile-data")


@pytest.mark.parametrize("format", ["JPEG", "PNG", "TIFF", "WEBP"])
def test_a_wide_gamut_profile_is_converted_to_srgb(format, display_p3_profile):
    green = (40, 160, 60)  # in Display P3; in sRGB it is about (0, 163, 40)
    buffer = io.BytesIO()
    Image.new("RGB", (3000, 2000), green).save(buffer, format, icc_profile=display_p3_profile)
    expected = ImageCms.applyTransform(
        Image.new("RGB", (1, 1), green),
        ImageCms.buildTransform(
            ImageCms.ImageCmsProfile(io.BytesIO(display_p3_profile)), ImageCms.createProfile("sRGB"), "RGB", "RGB"
        ),
    ).getpixel((0, 0))

    renditions = make_renditions(io.BytesIO(buffer.getvalue()), max_pixels=50_000_000)

    for data in (renditions.thumbnail, renditions.preview):
        image = open_jpeg(data)
        assert "icc_profile" not in image.info
        assert_close(image.getpixel((100, 100)), expected, tolerance=6)


# The pixel limit is ours, stated exactly.

IQ4_150MP = (14204, 10652)  # Phase One IQ4 150 MP, the largest current camera frame


@pytest.fixture(scope="session")
def iq4_png():
    """A 14204 × 10652 PNG of a few hundred KB: the most pixels per byte a photographer can send."""
    return photo_bytes("PNG", *IQ4_150MP, orientation=1, compression=9)


def test_the_default_pixel_limit_accepts_150_megapixel_cameras(settings, iq4_png):
    assert len(iq4_png) < 1_000_000
    renditions = make_renditions(io.BytesIO(iq4_png), settings.VIEWPORT_MAX_IMAGE_PIXELS)
    assert (renditions.width, renditions.height) == IQ4_150MP
    assert open_jpeg(renditions.preview).size == fit_within(IQ4_150MP, PREVIEW_SIZE)


def test_a_102_megapixel_frame_is_not_refused_by_pillows_own_limit():
    data = photo_bytes("JPEG", 11648, 8736, orientation=1)  # Fujifilm GFX100: 101.8 Mpx, above Pillow's 89.5
    renditions = make_renditions(io.BytesIO(data), max_pixels=120_000_000)
    assert (renditions.width, renditions.height) == (11648, 8736)


def stated_megapixels(message):
    """The photo's and the limit's megapixels, as the message says them."""
    found = re.findall(r"(\d+(?:\.\d+)?) megapixels", message)
    assert len(found) == 2, message
    return [float(number) for number in found]


@pytest.mark.parametrize(
    "size, max_pixels, expected",
    [
        (
            IQ4_150MP,
            150_000_000,
            "This image has 14204 × 10652 pixels (151.3 megapixels), more than the 150.0 megapixels we accept.",
        ),
        ((2000, 1001), 2_000_000, None),  # 2.002 Mpx: "2.0 is more than 2.0" would be a lie
        ((10_001, 10_000), 100_000_000, None),  # 100.01 Mpx
        ((12_000, 13_334), 160_007_999, None),  # one pixel too many
    ],
)
def test_the_pixel_limit_message_states_both_numbers_so_that_they_differ(size, max_pixels, expected):
    data = png_header(*size)
    with pytest.raises(ImageRejected) as refused:
        make_renditions(io.BytesIO(data), max_pixels=max_pixels)
    message = str(refused.value)
    if expected:
        assert message == expected
    photo, limit = stated_megapixels(message)
    assert photo > limit, message
    assert f"{size[0]} × {size[1]} pixels" in message


def png_header(width, height):
    """A PNG that announces its size and holds almost nothing: enough to be refused by its header."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("format", ["JPEG", "PNG", "TIFF", "WEBP"])
def test_the_pixel_limit_applies_to_every_format(format):
    data = photo_bytes(format, 2000, 1000, orientation=1)
    with pytest.raises(ImageRejected, match=r"2000 × 1000 pixels \(2\.0 megapixels\), more than the 1\.9 megapixels"):
        make_renditions(io.BytesIO(data), max_pixels=1_900_000)


# Failures are the photographer's messages, never a crash.


@pytest.mark.parametrize("format", ["PNG", "TIFF", "WEBP", "HEIF"])
def test_truncated_files_of_every_format_are_refused(format):
    data = photo_bytes(format, 3000, 2000, orientation=1)
    with pytest.raises(ImageRejected, match="damaged or incomplete"):
        make_renditions(io.BytesIO(data[: len(data) * 2 // 3]), max_pixels=50_000_000)


def test_running_out_of_memory_is_said_as_such_not_as_a_damaged_photo(monkeypatch):
    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(pyvips.Image, "resize", exhausted, raising=False)
    with pytest.raises(ImageRejected) as refused:
        make_renditions(io.BytesIO(image_bytes(3000, 2000)), max_pixels=50_000_000)
    assert "memory" in str(refused.value) and "damaged" not in str(refused.value)


def test_an_unexpected_decoder_failure_is_still_a_message_for_the_photographer(monkeypatch):
    class DecoderBug(Exception):
        pass

    def broken(*args, **kwargs):
        raise DecoderBug("internal details")

    monkeypatch.setattr(pyvips.Image, "resize", broken, raising=False)
    with pytest.raises(ImageRejected, match="damaged or incomplete") as refused:
        make_renditions(io.BytesIO(image_bytes(3000, 2000)), max_pixels=50_000_000)
    assert "DecoderBug" not in str(refused.value) and "internal" not in str(refused.value)


def test_parallel_decodes_wait_for_a_free_slot(monkeypatch):
    limit_concurrent_decodes(1)
    running, most = 0, 0
    lock = threading.Lock()
    real_decode = images._decode

    def counting_decode(*args):
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        try:
            return real_decode(*args)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(images, "_decode", counting_decode)
    data = photo_bytes("PNG", 3000, 2000)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: make_renditions(io.BytesIO(data), 50_000_000), range(4)))
    assert len(results) == 4 and most == 1


def test_the_number_of_parallel_decodes_is_a_setting(settings):
    from django.apps import apps

    limit_concurrent_decodes(1)
    settings.VIEWPORT_CONCURRENT_DECODES = 3
    apps.get_app_config("galleries").ready()
    try:
        slots = [images._decode_slots.acquire(blocking=False) for _ in range(4)]
        assert slots == [True, True, True, False]
    finally:
        limit_concurrent_decodes(1)


# Capture time from EXIF, for sorting a gallery by when its photos were taken.


def exif_bytes(date_time=None, subseconds=None, offset=None, gps=False):
    exif = Image.Exif()
    exif[0x010F] = "Test Camera Maker"
    if date_time is not None:
        exif.get_ifd(0x8769)[0x9003] = date_time
    if subseconds is not None:
        exif.get_ifd(0x8769)[0x9291] = subseconds
    if offset is not None:
        exif.get_ifd(0x8769)[0x9011] = offset
    if gps:
        exif.get_ifd(0x8825).update({1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)})
    return exif.tobytes()


def tiff_with_exif_ifd(date_time, subseconds, offset):
    """A TIFF as cameras and raw converters write it: DateTimeOriginal in the EXIF sub-directory."""
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), BLUE).save(
        buffer, "TIFF", tiffinfo={0x0112: 1, 0x8769: {0x9003: date_time, 0x9291: subseconds, 0x9011: offset}}
    )
    return buffer.getvalue()


TAKEN = datetime(2024, 5, 6, 7, 8, 9, 120000, tzinfo=timezone(timedelta(hours=2)))


@pytest.mark.parametrize("format", ["JPEG", "HEIF", "TIFF", "PNG", "WEBP"])
def test_capture_time_comes_from_exif_with_subseconds_and_offset(format):
    if format == "TIFF":
        data = tiff_with_exif_ifd("2024:05:06 07:08:09", "12", "+02:00")
    else:
        data = photo_bytes(format, 300, 200, exif=exif_bytes("2024:05:06 07:08:09", "12", "+02:00"))
    renditions = make_renditions(io.BytesIO(data), max_pixels=50_000_000)
    assert renditions.captured_at == TAKEN
    assert renditions.captured_at.utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize(
    "date_time, subseconds, offset, expected",
    [
        ("2024:05:06 07:08:09", None, None, datetime(2024, 5, 6, 7, 8, 9)),  # no offset: naive, the camera's clock
        (
            "2024:05:06 07:08:09",
            "5",
            "-05:30",
            datetime(2024, 5, 6, 7, 8, 9, 500000, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
        ),
        ("2024:05:06 07:08:09", "1234567", None, datetime(2024, 5, 6, 7, 8, 9, 123456)),
        ("2024:05:06 07:08:09\0", " 7 ", None, datetime(2024, 5, 6, 7, 8, 9, 700000)),
        ("2024:05:06 07:08:09", "abc", "+99:00", datetime(2024, 5, 6, 7, 8, 9)),  # junk around a good date
        ("2024:05:06 07:08:09", None, "garbage", datetime(2024, 5, 6, 7, 8, 9)),
        ("0000:00:00 00:00:00", None, None, None),  # what cameras write when the clock was never set
        ("    :  :     :  :  ", None, None, None),
        ("2024:13:45 25:61:61", None, None, None),
        ("yesterday", None, None, None),
    ],
)
def test_capture_time_is_read_leniently_and_never_fails_the_upload(date_time, subseconds, offset, expected):
    data = photo_bytes("JPEG", 300, 200, exif=exif_bytes(date_time, subseconds, offset))
    renditions = make_renditions(io.BytesIO(data), max_pixels=50_000_000)
    assert renditions.captured_at == expected
    if expected is not None:
        assert (renditions.captured_at.tzinfo is None) == (expected.tzinfo is None)


def test_photos_without_a_capture_time_have_none():
    assert make_renditions(io.BytesIO(image_bytes()), max_pixels=50_000_000).captured_at is None


@pytest.mark.parametrize("format", ["JPEG", "PNG", "WEBP"])
def test_a_mangled_exif_block_loses_the_date_and_rotation_not_the_upload(format):
    mangled = b"Exif\0\0MM\0*\0\0\0\x08\xff\xff" + bytes(range(256)) * 4
    buffer = io.BytesIO()
    Image.new("RGB", (3000, 2000), BLUE).save(buffer, format, exif=mangled)
    renditions = make_renditions(io.BytesIO(buffer.getvalue()), max_pixels=50_000_000)
    assert renditions.captured_at is None
    assert (renditions.width, renditions.height) == (3000, 2000)


# No metadata leaves in a thumbnail or preview: no EXIF (GPS!), XMP, ICC, comment, or any other segment.

XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" photoshop:City="Secret Town"/></rdf:RDF></x:xmpmeta>'  # noqa: E501


def jpeg_segments(data):
    """[(marker, payload)] of a JPEG file's segments, up to the image data."""
    assert data[:2] == b"\xff\xd8"
    segments, position = [], 2
    while True:
        assert data[position] == 0xFF, f"no marker at {position}"
        marker = data[position + 1]
        length = struct.unpack(">H", data[position + 2 : position + 4])[0]
        segments.append((marker, data[position + 4 : position + 2 + length]))
        if marker == 0xDA:  # start of scan: entropy-coded data to the end
            assert data.endswith(b"\xff\xd9")
            return segments
        position += 2 + length


@pytest.mark.parametrize(
    "format, size",
    [("JPEG", (300, 200)), ("JPEG", (3000, 2000)), ("PNG", (3000, 2000)), ("WEBP", (3000, 2000)), ("HEIF", (300, 200))],
)
def test_renditions_carry_no_metadata_segment_at_all(format, size):
    original = Image.new("RGB", size, BLUE)
    buffer = io.BytesIO()
    srgb = ImageCms.ImageCmsProfile(
        ImageCms.createProfile("sRGB")
    ).tobytes()  # sRGB: no conversion, the same image goes on
    metadata = {"exif": exif_bytes("2024:05:06 07:08:09", gps=True), "icc_profile": srgb, "xmp": XMP}
    if format == "JPEG":
        metadata["comment"] = b"Shot at 12 Secret Street"
    if format == "PNG":
        metadata["pnginfo"] = PngImagePlugin.PngInfo()
        metadata["pnginfo"].add_itxt("XML:com.adobe.xmp", XMP.decode())
        metadata["pnginfo"].add_text("Comment", "Shot at 12 Secret Street")
    original.save(buffer, format, **metadata)
    data = buffer.getvalue()
    assert b"Secret" in data

    renditions = make_renditions(io.BytesIO(data), max_pixels=50_000_000)

    jpegs = [renditions.thumbnail, renditions.preview] + [
        data for name, data in renditions.sizes.items() if ".jpg" in name
    ]
    for rendition in jpegs:
        segments = jpeg_segments(rendition)
        kinds = [marker for marker, _ in segments]
        assert set(kinds) <= {0xE0, 0xDB, 0xC0, 0xC4, 0xDA}, [hex(kind) for kind in kinds]  # JFIF, tables, frame, scan
        assert [payload[:5] for marker, payload in segments if marker == 0xE0] in ([], [b"JFIF\0"])
        assert b"Secret" not in rendition
    webps = [data for name, data in renditions.sizes.items() if ".webp" in name] + [renditions.placeholder]
    for rendition in webps:
        assert webp_chunks(rendition) <= {b"VP8 ", b"VP8L", b"VP8X", b"ALPH"}, webp_chunks(rendition)
        assert b"Secret" not in rendition


def webp_chunks(data):
    """The kinds of a WebP file's RIFF chunks (EXIF, XMP and ICCP would be metadata)."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    kinds, position = set(), 12
    while position + 8 <= len(data):
        kinds.add(data[position : position + 4])
        position += 8 + (int.from_bytes(data[position + 4 : position + 8], "little") + 1) // 2 * 2
    return kinds


def test_colour_transforms_are_cached_by_the_profiles_hash_and_huge_profiles_are_ignored():
    """Uploads with big made-up ICC profiles must not pin those bytes in every worker's memory."""
    images._TRANSFORMS.clear()
    random_bytes = random.Random(7).randbytes
    huge = Image.new("RGB", (8, 8), (200, 80, 40))
    buffer = io.BytesIO()
    huge.save(buffer, "JPEG", icc_profile=random_bytes(3 * 1024 * 1024))
    assert make_renditions(io.BytesIO(buffer.getvalue()), 10**6).width == 8
    for _n in range(20):
        buffer = io.BytesIO()
        huge.save(buffer, "JPEG", icc_profile=random_bytes(200_000))
        make_renditions(io.BytesIO(buffer.getvalue()), 10**6)
    assert 0 < len(images._TRANSFORMS) <= 16
    assert all(len(digest) == 32 for digest, _ in images._TRANSFORMS)
