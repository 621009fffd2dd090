"""Pixel work: reading uploaded photos and making their thumbnail and preview.

Plain functions on files and bytes, no ORM, so they can be tested and benchmarked alone.
"""

import io
import struct
import warnings
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageChops, ImageCms, ImageFile, UnidentifiedImageError
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
_SWAPS_SIDES = {Image.Transpose.TRANSPOSE, Image.Transpose.TRANSVERSE, Image.Transpose.ROTATE_90,
                Image.Transpose.ROTATE_270}


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

    The work, in order (docs/PERFORMANCE.md has the measurements behind each choice):
    decode at the smallest JPEG DCT scale that still covers the preview; shrink that to the preview
    with a short filter (HAMMING: the DCT scaling already low-passed the picture); free the decoded
    pixels; convert to sRGB only when the embedded profile is not sRGB already; rotate upright; make
    the thumbnail from the preview, not from the original.
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
            if transpose in _SWAPS_SIDES:
                width, height = height, width
            content_type = ACCEPTED_FORMATS[image.format]
            icc_profile = image.info.get("icc_profile")

            preview = _shrink(image, PREVIEW_SIZE)
            if preview is not image:
                image.close()  # free the decoded pixels now: the peak is decoded + preview, not more
    except ImageRejected:
        raise
    except UnidentifiedImageError:
        raise ImageRejected("This file is not a photo we can read: use JPEG, PNG, WebP, TIFF or HEIC.")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(f"This image has more pixels than the {max_pixels / 1e6:.0f} megapixels we accept.")
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError, ZeroDivisionError,
            struct.error, RuntimeError):
        raise ImageRejected("This photo is damaged or incomplete (was the upload cut short?).")

    preview = _to_srgb(preview, icc_profile)
    if transpose is not None:
        preview = preview.transpose(transpose)
    thumbnail_size = fit_within(preview.size, THUMBNAIL_SIZE)
    if thumbnail_size == preview.size:
        thumbnail = preview
    else:
        # From the preview: a box reduce by a whole factor, then bicubic for the rest: ~2x faster
        # than bicubic all the way, ~43 dB PSNR against LANCZOS on real photos.
        thumbnail = preview.resize(thumbnail_size, Image.Resampling.BICUBIC, reducing_gap=1.5)
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
    except Exception:  # a mangled EXIF block costs the photo its rotation, not its upload
        return 1


def fit_within(size, long_edge):
    """`size` scaled down (never up) so its long edge is `long_edge`, keeping the aspect ratio."""
    scale = min(1.0, long_edge / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _shrink(image, long_edge):
    """Decode `image` no larger than needed and shrink it to fit `long_edge`.

    For JPEG, draft() makes libjpeg decode at 1/2, 1/4 or 1/8 scale directly (DCT scaling). It
    only scales while both sides stay at least the requested size, so ask for the aspect-correct
    target, not a square.
    """
    target = fit_within(image.size, long_edge)
    if image.format in ("JPEG", "MPO"):
        image.draft("RGB", target)
    image.load()
    if image.size == target:
        return image
    # After DCT scaling at most a factor < 2 is left, and the picture is already band-limited:
    # HAMMING (support 1) costs a third of LANCZOS (support 3); 40 dB PSNR against LANCZOS.
    # Other formats may need a bigger step; reducing_gap first box-averages by whole factors.
    return image.resize(target, Image.Resampling.HAMMING, reducing_gap=3.0)


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
        if image.mode not in ("RGB", "CMYK", "L"):
            image = image.convert("RGB")
        transform = _srgb_transform(icc_profile, image.mode)
        if transform is not None:
            try:
                return ImageCms.applyTransform(image, transform)
            except (ImageCms.PyCMSError, OSError, ValueError):
                pass  # fall back to a plain conversion
    return image.convert("RGB") if image.mode != "RGB" else image


@lru_cache(maxsize=32)
def _srgb_transform(icc_profile, mode):
    """The transform from the embedded profile to sRGB, or None when there is nothing to do.

    Applying a profile costs ~20 ns a pixel (~55 ms for a 2048 px preview), and most photos
    (Lightroom and camera exports) carry an sRGB profile already. A profile whose transform moves
    no probe colour by more than one level out of 255 is sRGB for our purposes: skipped. Profiles
    are few (one per camera or export preset), so transforms are cached by the profile's bytes.
    """
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        transform = ImageCms.buildTransform(source, _SRGB_PROFILE, mode, "RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None  # a broken profile: fall back to a plain conversion
    if mode == "RGB":
        probe = _srgb_probe()
        difference = ImageChops.difference(ImageCms.applyTransform(probe, transform), probe)
        if max(high for _, high in difference.getextrema()) <= 1:
            return None
    return transform


@lru_cache(maxsize=1)
def _srgb_probe():
    """A 16-level RGB cube plus full ramps of each primary and of grey."""
    levels = range(0, 256, 17)
    pixels = [(r, g, b) for r in levels for g in levels for b in levels]
    for value in range(256):
        pixels += [(value, 0, 0), (0, value, 0), (0, 0, value), (value, value, value)]
    probe = Image.new("RGB", (len(pixels), 1))
    probe.putdata(pixels)
    return probe


def _jpeg_bytes(image, quality):
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, optimize=False)
    return buffer.getvalue()

