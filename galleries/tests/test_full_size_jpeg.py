"""Full-size JPEGs of photos that are not JPEGs (images.full_size_jpeg): every pixel, upright,
quality 92, the colour profile and EXIF kept."""

import io

import pillow_heif
import pytest
from PIL import Image, ImageCms

from galleries import images
from testing.photos import photo_bytes, private_exif, private_photo

# An embedded colour profile (Display P3 from a phone, Adobe RGB from a camera): its bytes are kept.
PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def converted(data):
    return Image.open(io.BytesIO(images.full_size_jpeg(io.BytesIO(data))))


def quality_92_tables():
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "JPEG", quality=92)
    return Image.open(buffer).quantization


@pytest.mark.parametrize(
    "format, options",
    [("HEIF", {}), ("PNG", {"bits": 16, "alpha": True}), ("TIFF", {"bits": 16}), ("WEBP", {})],
)
def test_a_photo_becomes_an_upright_full_size_jpeg_with_its_metadata(format, options):
    original = photo_bytes(format, 600, 400, orientation=6, exif=private_exif(6), **options)
    with converted(original) as image:
        assert (image.format, image.size, image.mode) == ("JPEG", (600, 400), "RGB")
        assert image.quantization == quality_92_tables()
        assert image.layer == [(1, 1, 1, 0), (2, 1, 1, 1), (3, 1, 1, 1)]  # no chroma subsampling
        exif = image.getexif()
        assert exif.get(0x0112, 1) == 1
        if format != "TIFF":  # libvips writes no EXIF into the TIFF it makes
            assert exif[0x010F] == "Canon" and exif.get_ifd(0x8769)[0x9003] == "2024:06:01 14:03:22"
        red_corner, blue = image.getpixel((20, 20)), image.getpixel((300, 200))
        assert red_corner[0] > 200 and red_corner[2] < 60 and blue[2] > 150
        if options.get("alpha"):
            assert min(image.getpixel((590, 390))) > 240  # transparency on white


def test_a_tiffs_own_tags_become_the_jpegs_exif():
    with converted(private_photo("TIFF")) as image:
        exif = image.getexif()
        assert (exif[0x010F], exif[0x0110]) == ("Canon", "Canon EOS R5")
        assert exif.get_ifd(0x8769)[0x9003] == "2024:06:01 14:03:22"


def test_the_colour_profile_is_kept_and_cmyk_turns_rgb():
    picture = Image.new("RGB", (64, 48), (200, 30, 30))
    for format in ("PNG", "WEBP", "TIFF", "HEIF"):
        buffer = io.BytesIO()
        if format == "HEIF":
            pillow_heif.from_pillow(picture).save(buffer, quality=95, icc_profile=PROFILE)
        else:
            picture.save(buffer, format, icc_profile=PROFILE)
        with converted(buffer.getvalue()) as image:
            assert image.info["icc_profile"] == PROFILE, format
            assert image.getpixel((5, 5))[0] > 185, format  # the values themselves, not converted
    buffer = io.BytesIO()
    Image.new("CMYK", (64, 48), (0, 255, 255, 0)).save(buffer, "TIFF")
    with converted(buffer.getvalue()) as image:
        assert image.mode == "RGB"
        red = image.getpixel((5, 5))
        assert red[0] > 180 and red[1] < 90 and red[2] < 90
