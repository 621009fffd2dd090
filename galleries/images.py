"""Pixel work: reading uploaded photos and making their thumbnail and preview.

Plain functions on files and bytes, no ORM, so they can be tested and benchmarked alone.

Two decoders, each for what it does best (docs/PERFORMANCE.md, section 7, has the measurements):
- Pillow for JPEG (libjpeg decodes at 1/2, 1/4 or 1/8 scale directly) and HEIC (pillow-heif; libheif
  can only decode whole frames).
- libvips (pyvips) for PNG, TIFF and WebP: it streams the rows through the shrink, so a 150 MP PNG
  costs ~90-130 MiB instead of 0.8-1.35 GiB, and libwebp decodes straight at the preview's scale.
Both hand a preview-sized Pillow image to the same finishing steps (sRGB, upright, thumbnail, JPEG).
"""

import hashlib
import io
import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache

import pyvips
from PIL import Image, ImageChops, ImageCms, ImageFile
from pillow_heif import register_heif_opener

logger = logging.getLogger(__name__)

register_heif_opener()
# A truncated file is an error, never a half-grey photo.
ImageFile.LOAD_TRUNCATED_IMAGES = False
# make_renditions() refuses too many pixels itself, from the header, before any pixel is decoded, and
# names the real numbers. Pillow's own check would refuse 100 MP cameras at 89.5 Mpx in its words.
Image.MAX_IMAGE_PIXELS = None
# No cache of decoded images between uploads, and one libvips thread per decode: decodes are few
# per process (see limit_concurrent_decodes) and the processes already use the cores.
pyvips.cache_set_max(0)
pyvips.concurrency_set(1)

# Pillow format name -> the Content-Type we store and serve originals with, and their file extension.
ACCEPTED_FORMATS = {
    "JPEG": ("image/jpeg", ".jpg"),
    "MPO": ("image/jpeg", ".jpg"),  # many cameras write JPEGs with a second, embedded picture
    "PNG": ("image/png", ".png"),
    "WEBP": ("image/webp", ".webp"),
    "TIFF": ("image/tiff", ".tif"),
    "HEIF": ("image/heic", ".heic"),
}
THUMBNAIL_SIZE = 640  # long edge of the grid thumbnail, enough for 2x screens
PREVIEW_SIZE = 2048  # long edge of the full-screen preview
THUMBNAIL_QUALITY = 80
PREVIEW_QUALITY = 85

NOT_A_PHOTO = "This file is not a photo we can read: use JPEG, PNG, WebP, TIFF or HEIC."
DAMAGED = "This photo is damaged or incomplete (was the upload cut short?)."
OUT_OF_MEMORY = "The server ran out of memory while reading this photo. Try it again alone in a while."

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
_SWAPS_SIDES = {
    Image.Transpose.TRANSPOSE,
    Image.Transpose.TRANSVERSE,
    Image.Transpose.ROTATE_90,
    Image.Transpose.ROTATE_270,
}


class ImageRejected(ValueError):
    """The file is not a photo we accept; the message is for the photographer."""


@dataclass
class Renditions:
    content_type: str
    extension: str  # of the detected format, for naming downloads: ".jpg", ".png", ".webp", ".tif", ".heic"
    width: int  # upright size of the original
    height: int
    captured_at: datetime | None  # from EXIF, see capture_time()
    thumbnail: bytes  # JPEG, sRGB, upright, no metadata
    preview: bytes


@dataclass
class _Decoded:
    format: str
    size: tuple[int, int]  # of the original as stored, before rotation
    exif: Image.Exif
    icc_profile: bytes | None
    preview: Image.Image  # fits PREVIEW_SIZE, not yet rotated or converted


_decode_slots = threading.BoundedSemaphore(1)


def limit_concurrent_decodes(count):
    """Let at most `count` photos be decoded at once in this process (VIEWPORT_CONCURRENT_DECODES).

    Decoding is where memory peaks (up to ~1 GB for a 150 MP HEIC or progressive JPEG, which
    can only be decoded whole), so parallel uploads queue here rather than multiply the peak.
    """
    global _decode_slots
    _decode_slots = threading.BoundedSemaphore(max(1, count))


def make_renditions(file, max_pixels):
    """Decode an uploaded photo once and return its upright size, capture time, thumbnail and preview.

    Raises ImageRejected for anything that is not a whole, readable photo of an accepted format
    and at most `max_pixels` pixels, with a message for the photographer; never anything else.
    `file` is left open at its start, so the caller can store the original from it.

    The work, in order (docs/PERFORMANCE.md has the measurements behind each choice): decode no
    larger than the preview needs (JPEG DCT scaling, WebP scaled decoding, PNG and TIFF streamed
    through the shrink), one decode at a time per process; convert to sRGB only when the embedded
    profile is not sRGB already; rotate upright; make the thumbnail from the preview.
    """
    try:
        file.seek(0)
        with _decode_slots:
            decoded = _decode(file, max_pixels)
        transpose = _TRANSPOSE_FOR_ORIENTATION.get(_orientation(decoded.exif))
        width, height = _upright_size(decoded.size, decoded.exif)
        preview = _to_srgb(decoded.preview, decoded.icc_profile)
        if transpose is not None:
            preview = preview.transpose(transpose)
        thumbnail_size = fit_within(preview.size, THUMBNAIL_SIZE)
        if thumbnail_size == preview.size:
            thumbnail = preview
        else:
            # From the preview: a box reduce by a whole factor, then bicubic for the rest: ~2x faster
            # than bicubic all the way, ~43 dB PSNR against LANCZOS on real photos.
            thumbnail = preview.resize(thumbnail_size, Image.Resampling.BICUBIC, reducing_gap=1.5)
        content_type, extension = ACCEPTED_FORMATS[decoded.format]
        return Renditions(
            content_type=content_type,
            extension=extension,
            width=width,
            height=height,
            captured_at=capture_time(decoded.exif),
            thumbnail=_jpeg_bytes(thumbnail, THUMBNAIL_QUALITY),
            preview=_jpeg_bytes(preview, PREVIEW_QUALITY),
        )
    except ImageRejected:
        raise
    except MemoryError:
        logger.warning("Out of memory while decoding an upload", exc_info=True)
        raise ImageRejected(OUT_OF_MEMORY) from None
    except pyvips.Error as error:
        if "out of memory" in str(error):
            logger.warning("libvips ran out of memory while decoding an upload: %s", error)
            raise ImageRejected(OUT_OF_MEMORY) from None
        raise ImageRejected(DAMAGED) from None
    except Exception:
        # Decoders report a broken file in many ways (OSError, SyntaxError, struct.error, ...).
        # Logged, so that a fault of ours does not hide behind the photographer's message.
        logger.info("Refused an upload that failed to decode", exc_info=True)
        raise ImageRejected(DAMAGED) from None
    finally:
        file.seek(0)


def _decode(file, max_pixels):
    format = _format_of(file.read(16))
    file.seek(0)
    if format is None:
        raise ImageRejected(NOT_A_PHOTO)
    if format in ("JPEG", "HEIF"):
        return _decode_with_pillow(file, format, max_pixels)
    return _decode_with_vips(file, format, max_pixels)


_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}


def _format_of(head):
    """The accepted format a file's first bytes announce, or None: a file that announces one and
    then fails to decode is damaged, not something else."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] in (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"):  # TIFF and BigTIFF
        return "TIFF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "HEIF"
    return None


def _check_pixels(size, exif, max_pixels):
    if size[0] * size[1] <= max_pixels:
        return
    width, height = _upright_size(size, exif)
    # As many decimals as it takes for the two numbers to differ: 160.000001 is more than 160.0.
    decimals = 1
    while decimals < 6 and float(f"{width * height / 1e6:.{decimals}f}") <= float(f"{max_pixels / 1e6:.{decimals}f}"):
        decimals += 1
    raise ImageRejected(
        f"This image has {width} × {height} pixels ({width * height / 1e6:.{decimals}f} megapixels), "
        f"more than the {max_pixels / 1e6:.{decimals}f} megapixels we accept."
    )


class _KeptOpen:
    """The caller's file for Pillow to read but not to close: the original is stored from it next."""

    def __init__(self, file):
        self._file = file

    def __getattr__(self, name):
        return getattr(self._file, name)

    def close(self):
        pass


def _decode_with_pillow(file, format, max_pixels):
    image = Image.open(_KeptOpen(file), formats=[format])  # MPO opens through JPEG
    size, exif, icc_profile = image.size, _exif(image), image.info.get("icc_profile")
    _check_pixels(size, exif, max_pixels)
    preview = _shrink(image, PREVIEW_SIZE)
    if preview is not image:
        image.close()  # free the decoded pixels now: the peak is decoded + preview, not more
    return _Decoded(image.format, size, exif, icc_profile, preview)


def _exif(image):
    try:
        exif = image.getexif()
        exif.get_ifd(0x8769)  # parsed now, while the file is at hand
        return exif
    except Exception:  # a mangled EXIF block costs the photo its rotation and date, not its upload
        return Image.Exif()


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


def _decode_with_vips(file, format, max_pixels):
    exif = Image.Exif()
    if format == "TIFF":
        # A TIFF's own first directory holds its EXIF pointer (libvips reads only the orientation).
        exif = _tiff_exif(file)
    # libvips calls back into its sources while it reads: they must outlive every image made from them.
    sources = [_vips_source(file)]
    image = _vips_load(sources[-1], format)
    try:
        size = (image.width, image.height)
        if format != "TIFF" and image.get_typeof("exif-data"):
            exif = _exif_from_bytes(image.get("exif-data"))
        _check_pixels(size, exif, max_pixels)
        target = fit_within(size, PREVIEW_SIZE)
        icc_profile = image.get("icc-profile-data") if image.get_typeof("icc-profile-data") else None
        if format == "WEBP" and target != size:
            sources.append(_vips_source(file))
            image = _vips_load(sources[-1], format, scale=target[0] / size[0])  # libwebp decodes at that scale
        preview = _vips_preview(image, target)
    finally:
        image = None
    return _Decoded(format, size, exif, icc_profile, preview)


def _vips_source(file):
    file.seek(0)
    source = pyvips.SourceCustom()
    source.on_read(file.read)
    source.on_seek(file.seek)
    return source


def _vips_load(source, format, **options):
    """A lazy libvips image: only the header is read until the pixels are asked for."""
    load = {
        "PNG": pyvips.Image.pngload_source,
        "TIFF": pyvips.Image.tiffload_source,
        "WEBP": pyvips.Image.webpload_source,
    }[format]
    return load(source, access="sequential", fail_on="error", **options)


def _tiff_exif(file):
    try:
        exif = Image.Exif()
        exif.load_from_fp(file)
        exif.get_ifd(0x8769)  # read now: libvips reads the file next
        return exif
    except Exception:
        return Image.Exif()
    finally:
        file.seek(0)


def _exif_from_bytes(data):
    try:
        exif = Image.Exif()
        exif.load(data)
        exif.get_ifd(0x8769)
        return exif
    except Exception:
        return Image.Exif()


def _vips_preview(image, target):
    """Stream `image`'s rows through a shrink to `target`: an 8-bit L, RGB or CMYK Pillow image.

    Transparency is flattened on white here, before the shrink, so that the colours hidden under
    transparent pixels do not bleed into the edges (and three bands are shrunk, not four).
    """
    if image.format not in ("uchar", "ushort"):
        image = image.colourspace("srgb")  # float, signed or Lab TIFFs: libvips knows their space
    if image.format == "ushort":
        # 8 bits are all a JPEG keeps; 16-bit rows cost twice the memory and time to shrink.
        image = image.cast("uchar", shift=True)
    if image.hasalpha():
        image = image.flatten(background=0 if image.interpretation == "cmyk" else 255, max_alpha=255)
    if (image.width, image.height) != target:
        image = image.resize(target[0] / image.width, vscale=target[1] / image.height)
    if image.bands == 4 and image.interpretation == "cmyk":
        mode = "CMYK"
    elif image.bands >= 3:
        image, mode = image.extract_band(0, n=3), "RGB"
    else:
        image, mode = image.extract_band(0), "L"
    return Image.frombytes(mode, (image.width, image.height), image.write_to_memory())


def _upright_size(size, exif):
    if _TRANSPOSE_FOR_ORIENTATION.get(_orientation(exif)) in _SWAPS_SIDES:
        return size[1], size[0]
    return size


def _orientation(exif):
    try:
        return int(exif.get(0x0112, 1))
    except Exception:  # a mangled EXIF block costs the photo its rotation, not its upload
        return 1


_EXIF_DATE_TIME = re.compile(r"(\d{4})[:-](\d\d)[:-](\d\d)[ T](\d\d):(\d\d):(\d\d)", re.ASCII)
_EXIF_OFFSET = re.compile(r"([+-])(\d\d):(\d\d)", re.ASCII)


def capture_time(exif):
    """When the photo was taken: EXIF DateTimeOriginal, with SubSecTimeOriginal when present.

    Timezone-aware when the camera wrote OffsetTimeOriginal; naive (the camera's wall clock, zone
    unknown) when it did not. None when there is no readable date: a mangled EXIF block never fails
    the upload.
    """
    try:
        exif_ifd = exif.get_ifd(0x8769)
        match = _EXIF_DATE_TIME.match(_exif_text(exif_ifd.get(0x9003)))
        if not match:
            return None
        taken = datetime(*(int(part) for part in match.groups()))
    except Exception:
        return None
    subseconds = _exif_text(exif_ifd.get(0x9291))
    if subseconds.isascii() and subseconds.isdigit():
        taken = taken.replace(microsecond=int(subseconds[:6].ljust(6, "0")))
    offset = _EXIF_OFFSET.fullmatch(_exif_text(exif_ifd.get(0x9011)))
    if offset and int(offset[2]) <= 14 and int(offset[3]) < 60:
        sign = -1 if offset[1] == "-" else 1
        taken = taken.replace(tzinfo=timezone(sign * timedelta(hours=int(offset[2]), minutes=int(offset[3]))))
    return taken


def read_capture_time(file):
    """The capture time of a stored photo, from its metadata alone (no pixel is decoded): for
    photos stored before capture times were recorded. None when there is none to read.

    A JPEG's EXIF sits near its start, so the head of the file is enough (the rest may be
    missing); the other formats need the whole file.
    """
    try:
        file.seek(0)
        format = _format_of(file.read(16))
        file.seek(0)
        if format in ("JPEG", "HEIF"):
            with Image.open(file, formats=[format]) as image:
                return capture_time(_exif(image))
        if format == "TIFF":
            return capture_time(_tiff_exif(file))
        if format in ("PNG", "WEBP"):
            source = _vips_source(file)
            image = _vips_load(source, format)  # the header only, until pixels are asked for
            has_exif = image.get_typeof("exif-data")
            return capture_time(_exif_from_bytes(image.get("exif-data"))) if has_exif else None
    except Exception:  # unreadable metadata costs the photo its date, nothing else
        logger.info("Could not read a capture time", exc_info=True)
    return None


def _exif_text(value):
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return value.strip("\0 ") if isinstance(value, str) else ""


def fit_within(size, long_edge):
    """`size` scaled down (never up) so its long edge is `long_edge`, keeping the aspect ratio."""
    scale = min(1.0, long_edge / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


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
        transform = _srgb_transform(icc_profile, image.mode) if len(icc_profile) <= MAX_ICC_PROFILE else None
        if transform is not None:
            try:
                return ImageCms.applyTransform(image, transform)
            except (ImageCms.PyCMSError, OSError, ValueError):
                pass  # fall back to a plain conversion
    return image.convert("RGB") if image.mode != "RGB" else image


def _srgb_transform(icc_profile, mode):
    """The transform from the embedded profile to sRGB, or None when there is nothing to do.

    Applying a profile costs ~20 ns a pixel (~55 ms for a 2048 px preview), and most photos
    (Lightroom and camera exports) carry an sRGB profile already. A profile whose transform moves
    no probe colour by more than one level out of 255 is sRGB for our purposes: skipped. Profiles
    are few (one per camera or export preset), so transforms are cached, by the profile's hash:
    keyed by its bytes, a few uploads with big made-up profiles would pin their bytes in memory.
    """
    key = (hashlib.sha256(icc_profile).digest(), mode)
    with _TRANSFORMS_LOCK:
        if key in _TRANSFORMS:
            _TRANSFORMS.move_to_end(key)
            return _TRANSFORMS[key]
    transform = _build_srgb_transform(icc_profile, mode)
    with _TRANSFORMS_LOCK:
        _TRANSFORMS[key] = transform
        while len(_TRANSFORMS) > 16:
            _TRANSFORMS.popitem(last=False)
    return transform


_TRANSFORMS = OrderedDict()
_TRANSFORMS_LOCK = threading.Lock()
# Camera and export profiles are a few KB, big printer profiles about a megabyte: larger ones
# are ignored (the photo is converted as if it had none).
MAX_ICC_PROFILE = 2 * 1024 * 1024


def _build_srgb_transform(icc_profile, mode):
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
    # comment: Pillow would copy the source's JPEG comment (image.info["comment"]) into the file.
    image.save(buffer, "JPEG", quality=quality, optimize=False, comment=b"")
    return buffer.getvalue()


# Full-size JPEGs, for clients whose computers cannot open a HEIC (or PNG, TIFF, WebP) original.

FULL_SIZE_QUALITY = 92
# The EXIF a TIFF's first directory shares with its image structure: what describes the photo.
_TIFF_DESCRIPTIVE_TAGS = (0x010E, 0x010F, 0x0110, 0x0131, 0x0132, 0x013B, 0x8298)


def is_jpeg(content_type):
    return content_type == ACCEPTED_FORMATS["JPEG"][0]


def full_size_jpeg(file):
    """The photo in `file` (HEIC, PNG, TIFF or WebP) as a JPEG of the same pixels, for clients
    who cannot open the original: full resolution, upright (the orientation applied and reset),
    quality 92 without chroma subsampling, the colour profile and EXIF/XMP metadata kept. Only
    CMYK is converted, to sRGB through its profile (CMYK JPEGs open badly in common viewers);
    transparency is flattened on white; 16-bit samples keep their top 8 bits.

    One at a time per process, like uploads' decodes: a 100 MP HEIC decodes whole. PNG, TIFF and
    WebP stream through libvips row by row unless they must be turned."""
    file.seek(0)
    format = _format_of(file.read(16))
    file.seek(0)
    with _decode_slots:
        if format == "HEIF":
            return _heif_to_jpeg(file)
        if format in ("PNG", "TIFF", "WEBP"):
            return _vips_to_jpeg(file, format)
    raise ImageRejected(NOT_A_PHOTO)


def _heif_to_jpeg(file):
    with Image.open(_KeptOpen(file), formats=["HEIF"]) as image:
        exif = _exif(image)  # pillow-heif turns the picture upright and resets the tag to 1
        transpose = _TRANSPOSE_FOR_ORIENTATION.get(_orientation(exif))
        upright = image.transpose(transpose) if transpose is not None else image
        icc_profile, xmp = image.info.get("icc_profile"), image.info.get("xmp")
        if upright.mode in ("RGBA", "LA"):
            background = Image.new("RGBA", upright.size, (255, 255, 255, 255))
            upright = Image.alpha_composite(background, upright.convert("RGBA"))
        if upright.mode not in ("RGB", "L"):
            upright = upright.convert("RGB")
        exif[0x0112] = 1
        buffer = io.BytesIO()
        options = {"icc_profile": icc_profile, "exif": exif.tobytes()} | ({"xmp": xmp} if xmp else {})
        upright.save(buffer, "JPEG", quality=FULL_SIZE_QUALITY, subsampling=0, optimize=False, **options)
        return buffer.getvalue()


def _vips_to_jpeg(file, format):
    # libvips carries a TIFF's own tags, not as EXIF: what describes the photo is copied.
    exif = _exif_of_tiff(file) if format == "TIFF" else None
    source = _vips_source(file)
    image = _vips_load(source, format)
    if image.get_typeof("orientation") and image.get("orientation") not in (0, 1):
        source = _vips_source(file)  # turning needs the whole picture, not a stream of rows
        image = _vips_load(source, format).copy_memory().autorot()
    if exif:
        image = image.copy()
        image.set_type(pyvips.GValue.blob_type, "exif-data", exif)
    if image.format not in ("uchar", "ushort"):
        image = image.colourspace("srgb")
    if image.format == "ushort":
        image = image.cast("uchar", shift=True)
    if image.hasalpha():
        image = image.flatten(background=0 if image.interpretation == "cmyk" else 255, max_alpha=255)
    if image.interpretation == "cmyk":
        image = image.icc_transform("srgb", embedded=True, input_profile="cmyk")
    data = image.jpegsave_buffer(Q=FULL_SIZE_QUALITY, subsample_mode="off")
    file.seek(0)
    return data


def _exif_of_tiff(file):
    """The EXIF block of a TIFF's descriptive tags and its Exif and GPS directories (upright)."""
    tiff = _tiff_exif(file)
    exif = Image.Exif()
    for tag in _TIFF_DESCRIPTIVE_TAGS:
        if tag in tiff:
            exif[tag] = tiff[tag]
    for pointer in (0x8769, 0x8825):
        directory = tiff.get_ifd(pointer)
        if directory:
            exif.get_ifd(pointer).update(directory)
    return exif.tobytes()


# Logos

LOGO_SIZE = (960, 240)  # at most: shown up to 120 px tall and 480 px wide, on 2x screens
LOGO_MAX_PIXELS = 50_000_000
NOT_A_LOGO = "Upload the logo as a PNG, JPEG or WebP image. SVG and other formats are not accepted."


@dataclass
class Logo:
    data: bytes  # PNG, sRGB, upright, transparency kept, no metadata
    width: int
    height: int


def make_logo(file):
    """A photographer's logo, re-encoded for screens and e-mails: decoded whole (nothing in the
    file but its pixels survives), upright, in sRGB with its transparency, empty transparent
    margins trimmed, shrunk to fit LOGO_SIZE, as a PNG.

    Raises ImageRejected, with a message for the photographer, for anything else than a whole
    PNG, JPEG or WebP image of at most LOGO_MAX_PIXELS.
    """
    try:
        file.seek(0)
        format = _format_of(file.read(16))
        file.seek(0)
        if format not in ("JPEG", "PNG", "WEBP"):
            raise ImageRejected(NOT_A_LOGO)
        with Image.open(file, formats=[format]) as image:
            exif, icc_profile = _exif(image), image.info.get("icc_profile")
            _check_pixels(image.size, exif, LOGO_MAX_PIXELS)
            if format == "JPEG":
                image.draft("RGB", fit_within(image.size, max(LOGO_SIZE)))
            image.load()
            has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            alpha = image.convert("RGBA").getchannel("A") if has_alpha else None
            colours = _to_srgb(image.convert("RGB") if has_alpha else image, icc_profile)
        transpose = _TRANSPOSE_FOR_ORIENTATION.get(_orientation(exif))
        if transpose is not None:
            colours = colours.transpose(transpose)
            alpha = alpha and alpha.transpose(transpose)
        if alpha is not None:
            colours.putalpha(alpha)
            colours = colours.crop(alpha.getbbox() or (0, 0, 1, 1))
            colours = colours.convert("RGBa")  # premultiplied, so clear pixels do not bleed into edges
        colours.thumbnail(LOGO_SIZE, Image.Resampling.LANCZOS)
        if alpha is not None:
            colours = colours.convert("RGBA")
        buffer = io.BytesIO()
        colours.save(buffer, "PNG", optimize=True)
        return Logo(buffer.getvalue(), *colours.size)
    except ImageRejected:
        raise
    except MemoryError:
        raise ImageRejected(OUT_OF_MEMORY) from None
    except Exception:
        logger.info("Refused a logo that failed to decode", exc_info=True)
        raise ImageRejected("This image is damaged or incomplete (was the upload cut short?).") from None
    finally:
        file.seek(0)
