"""Pixel work: reading uploaded photos and making their thumbnail and preview.

Plain functions on files and bytes, no ORM, so they can be tested and benchmarked alone.
"""

import io
import math
import warnings
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageFile, UnidentifiedImageError
from pillow_heif import register_heif_opener

register_heif_opener()
# A truncated file is an error, never a half-grey photo.
ImageFile.LOAD_TRUNCATED_IMAGES = False

# Pillow format name -> the Content-Type we store and serve originals with.
ACCEPTED_FORMATS = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",  # many cameras write JPEGs with a second, embedded picture
    "PNG": "image/png",
    "WEBP": "image/webp",
    "TIFF": "image/tiff",
    "HEIF": "image/heic",
}
THUMBNAIL_SIZE = 640  # long edge of the grid thumbnail, enough for 2x screens
PREVIEW_SIZE = 2048  # long edge of the full-screen preview
THUMBNAIL_QUALITY = 80
PREVIEW_QUALITY = 85

_SRGB_PROFILE = ImageCms.createProfile("sRGB")
_TRANSPOSE_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class ImageRejected(ValueError):
    """The file is not a photo we accept; the message is for the photographer."""


@dataclass
class Renditions:
    content_type: str
    width: int  # upright size of the original
    height: int
    thumbnail: bytes  # JPEG, sRGB, upright, no metadata
    preview: bytes


def make_renditions(file, max_pixels):
    """Decode an uploaded photo once and return its upright size, thumbnail and preview.

    Raises ImageRejected for anything that is not a whole, readable photo of an accepted format
    and at most `max_pixels` pixels.
    """
    file.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(file, formats=[f for f in ACCEPTED_FORMATS if f != "MPO"])  # MPO opens through JPEG
            if image.width * image.height > max_pixels:
                raise ImageRejected(
                    f"This image has {image.width} × {image.height} pixels, more than the "
                    f"{max_pixels / 1e6:.0f} megapixels we accept."
                )
            orientation = _orientation(image)
            transpose = _TRANSPOSE_FOR_ORIENTATION.get(orientation)
            width, height = image.size
            if transpose in (Image.Transpose.TRANSPOSE, Image.Transpose.TRANSVERSE,
                             Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_270):
                width, height = height, width
            content_type = ACCEPTED_FORMATS[image.format]
            icc_profile = image.info.get("icc_profile")

            preview = _shrink(image, PREVIEW_SIZE)
    except ImageRejected:
        raise
    except UnidentifiedImageError:
        raise ImageRejected("This file is not a photo we can read: use JPEG, PNG, WebP, TIFF or HEIC.")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(f"This image has more pixels than the {max_pixels / 1e6:.0f} megapixels we accept.")
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError, ZeroDivisionError):
        raise ImageRejected("This photo is damaged or incomplete (was the upload cut short?).")

    preview = _to_srgb(preview, icc_profile)
    if transpose is not None:
        preview = preview.transpose(transpose)
    thumbnail = preview.copy()
    thumbnail.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE), Image.Resampling.BICUBIC, reducing_gap=2.0)
    return Renditions(
        content_type=content_type,
        width=width,
        height=height,
        thumbnail=_jpeg_bytes(thumbnail, THUMBNAIL_QUALITY),
        preview=_jpeg_bytes(preview, PREVIEW_QUALITY),
    )


def _orientation(image):
    try:
        return int(image.getexif().get(0x0112, 1))
    except (ValueError, TypeError):
        return 1


def _shrink(image, long_edge):
    """Decode `image` no larger than needed and shrink it to fit `long_edge`.

    For JPEG, draft() makes libjpeg decode at 1/2, 1/4 or 1/8 scale directly (DCT scaling). It
    only scales while both sides stay at least the requested size, so ask for the aspect-correct
    target, not a square.
    """
    scale = min(1.0, long_edge / max(image.size))
    target = (max(1, math.ceil(image.width * scale)), max(1, math.ceil(image.height * scale)))
    if image.format in ("JPEG", "MPO"):
        image.draft("RGB", target)
    image.load()
    if image.size != target and scale < 1:
        image = image.resize(target, Image.Resampling.LANCZOS, reducing_gap=2.0)
    return image


def _to_srgb(image, icc_profile):
    """8-bit RGB in sRGB: apply the embedded colour profile, flatten transparency on white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.point(lambda value: value * (1 / 256)).convert("L")
    elif image.mode == "F":
        image = image.convert("L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image)
    if icc_profile:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
            if image.mode not in ("RGB", "CMYK", "L"):
                image = image.convert("RGB")
            return ImageCms.profileToProfile(image, source, _SRGB_PROFILE, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: fall back to a plain conversion
    return image.convert("RGB") if image.mode != "RGB" else image


def _jpeg_bytes(image, quality):
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, optimize=False)
    return buffer.getvalue()

