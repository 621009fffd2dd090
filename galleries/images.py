"""Pixel work: reading uploaded photos and making everything a browser is shown of them.

Plain functions on files and bytes, no ORM, so they can be tested, benchmarked and run anywhere
(the upload, a command, a worker): make_renditions() takes the original and returns every file
made from it. docs/PERFORMANCE.md, sections 1 and 7, has the measurements behind each choice.

- Decoding, once per photo and no larger than the preview needs: libvips (pyvips, with the
  pyvips-binary wheel) for JPEG (libjpeg decodes at 1/2, 1/4 or 1/8 scale: "shrink on load"),
  PNG and TIFF (rows stream through the shrink, so a 150 MP PNG costs ~90-130 MiB) and WebP
  (libwebp decodes at the preview's scale); Pillow with pillow-heif for HEIC (libheif decodes
  whole frames only).
- Everything after it in libvips on the preview-sized picture: sRGB, upright, the smaller sizes
  (each from the next larger), JPEG and WebP encoding, and a tiny placeholder.
"""

import hashlib
import io
import logging
import re
import threading
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache

import pyvips
from PIL import Image, ImageChops, ImageCms, ImageDraw, ImageFile, ImageFilter, ImageFont, ImageOps
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
THUMBNAIL_SIZE = 640  # long edge of the grid thumbnail (JPEG), enough for 2x screens
PREVIEW_SIZE = 2048  # long edge of the full-screen preview (JPEG)
THUMBNAIL_QUALITY = 81
# Lanczos 2 rather than 3 for the JPEG thumbnail: less ringing for the JPEG encoder to spend its
# error on. With quality 81 it beats the Pillow pipeline's thumbnail (bicubic, quality 80) in PSNR
# on every photo of `bash bench/run images`, at the bytes Lanczos 3 at quality 80 took
# (docs/PERFORMANCE.md, issue 25).
THUMBNAIL_KERNEL = "lanczos2"
PREVIEW_QUALITY = 85
# libwebp's own default quality: a third fewer bytes than the JPEG thumbnail's quality 80 at the same
# size, 0.25 dB less PSNR (real photos, 720 px). Effort 2 of 0-6: half the time of the default 4,
# 1% larger files.
WEBP_QUALITY = 75
WEBP_EFFORT = 2
# The sizes a browser chooses from (srcset), named as they are served: long edge and format.
# Small steps, so the size a browser takes is never much larger than the tile it fills (steps of
# 2 had phones take 1280 px for a 663 px tile, laptops 720 px for 532: Lighthouse's "properly
# size images"), up to 1080 px, as large as a cover can be before Lighthouse counts its cropped
# part as waste. On Lighthouse's phone (412 px at 1.75x) portrait tiles are 80-92 px wide (160
# and 240 px), landscape ones 188-199 px (400 px: 480 px wasted half its bytes), and the split
# cover 412 px (960 px: the 1080 px file has more pixels than its box). A photo gets those
# smaller than itself and the first one as large as itself.
SIZES = {
    "160.webp": (160, "webp"),
    "240.webp": (240, "webp"),
    "320.webp": (320, "webp"),
    "400.webp": (400, "webp"),
    "480.webp": (480, "webp"),
    "600.webp": (600, "webp"),
    "720.webp": (720, "webp"),
    "960.webp": (960, "webp"),
    "1080.webp": (1080, "webp"),
    "1080.jpg": (1080, "jpeg"),  # for link previews in chat apps, and browsers without WebP
}
PLACEHOLDER_SIZE = 8  # long edge of the placeholder, a lossy WebP of ~80 bytes shown until the thumbnail arrives
MIME_TYPES = {"jpg": "image/jpeg", "webp": "image/webp"}

NOT_A_PHOTO = "This file is not a photo we can read: use JPEG, PNG, WebP, TIFF or HEIC."
DAMAGED = "This photo is damaged or incomplete (was the upload cut short?)."
OUT_OF_MEMORY = "The server ran out of memory while reading this photo. Try it again alone in a while."

_SRGB_PROFILE = ImageCms.createProfile("sRGB")
# The libvips operations that undo each EXIF orientation (rot90 turns clockwise).
_UPRIGHT = {
    2: ("fliphor",),
    3: ("rot180",),
    4: ("flipver",),
    5: ("rot90", "fliphor"),
    6: ("rot90",),
    7: ("rot90", "flipver"),
    8: ("rot270",),
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
    thumbnail: bytes  # JPEG, sRGB, upright, no metadata, like every file here
    preview: bytes
    sizes: dict  # {name: bytes} of SIZES that this photo gets (see sizes_for())
    placeholder: bytes  # a tiny WebP of the whole picture


@dataclass
class _Decoded:
    format: str
    size: tuple[int, int]  # of the original as stored, before rotation
    exif: Image.Exif
    icc_profile: bytes | None
    preview: pyvips.Image  # in memory, fits PREVIEW_SIZE; not yet rotated, converted or flattened


_decode_slots = threading.BoundedSemaphore(1)


def limit_concurrent_decodes(count):
    """Let at most `count` photos be decoded at once in this process (VIEWPORT_CONCURRENT_DECODES).

    Decoding is where memory peaks (up to ~1 GB for a 150 MP HEIC or progressive JPEG, which
    can only be decoded whole), so parallel uploads queue here rather than multiply the peak.
    """
    global _decode_slots
    _decode_slots = threading.BoundedSemaphore(max(1, count))


class Busy(Exception):
    """Every decode slot stayed taken for as long as a request may wait: try again shortly."""

    retry_after = 10  # seconds

    def __init__(self):
        super().__init__("Viewport is busy with other images right now. Please try again in a few seconds.")


_holding = threading.local()  # whether this thread holds a decode slot


@contextmanager
def decode_slot(timeout=None):
    """One of the decode slots (limit_concurrent_decodes). A request that must not wait for one
    longer than `timeout` seconds gets Busy past that (answered 503 with Retry-After); the task
    worker waits its turn (None). A thread that holds one already keeps it: a caller may take
    the slot before the decode, to check under it that the work is still to do."""
    if getattr(_holding, "slot", False):
        yield
        return
    slots = _decode_slots
    if not slots.acquire(timeout=timeout):
        raise Busy()
    _holding.slot = True
    try:
        yield
    finally:
        _holding.slot = False
        slots.release()


def make_renditions(file, max_pixels, sizes=SIZES):
    """Decode a photo once and return its upright size, capture time and every file made from it.

    `file` is the original: bytes, or a file object, which is left open at its start (the caller
    stores the original from it next). `sizes` are the names of SIZES to make (all by default).

    Raises ImageRejected for anything that is not a whole, readable photo of an accepted format
    and at most `max_pixels` pixels, with a message for the photographer; never anything else.
    """
    if isinstance(file, (bytes, bytearray)):
        file = io.BytesIO(file)
    try:
        file.seek(0)
        with decode_slot():
            decoded = _decode(file, max_pixels)
        width, height = _upright_size(decoded.size, decoded.exif)
        orientation = _orientation(decoded.exif)
        preview = _to_srgb(decoded.preview, decoded.icc_profile)
        names = [name for name in sizes_for((width, height)) if name in sizes]
        # Shrunk before they are turned upright: each turns only its own pixels, as it is encoded.
        made = _make_sizes(preview, decoded.size, names)
        content_type, extension = ACCEPTED_FORMATS[decoded.format]
        return Renditions(
            content_type=content_type,
            extension=extension,
            width=width,
            height=height,
            captured_at=capture_time(decoded.exif),
            thumbnail=_encode(_upright(made[THUMBNAIL_SIZE], orientation), "jpeg", THUMBNAIL_QUALITY),
            preview=_encode(_upright(preview, orientation), "jpeg", PREVIEW_QUALITY),
            sizes={name: _encode(_upright(made[SIZES[name][0]], orientation), SIZES[name][1]) for name in names},
            placeholder=_placeholder(_upright(made[min(made)], orientation)),
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


def sizes_for(size):
    """The names of SIZES a photo of upright `size` gets: in each format, every size above the one
    below it that already shows the whole photo (the JPEG thumbnail counts as one), so none is an
    enlargement and no two are the same."""
    names = []
    below = {"webp": 0, "jpeg": THUMBNAIL_SIZE}
    for name, (long_edge, format) in sorted(SIZES.items(), key=lambda item: item[1][0]):
        if below[format] < max(size):
            names.append(name)
        below[format] = max(below[format], long_edge)
    return names


class _Made(dict):
    """{long edge: picture} of the sizes made, from the preview down; `names` are the SIZES made."""

    names = ()


def _make_sizes(preview, size, names):
    """The thumbnail and each named size of a photo of `size`, in memory, each shrunk with
    Lanczos 3 (the thumbnail with THUMBNAIL_KERNEL) from the smallest picture made so far that is
    at least twice as large (cheap, and one shrink rather than a chain of them), else from the
    preview."""
    made = _Made()
    made.names = names
    for long_edge in sorted({SIZES[name][0] for name in names} | {THUMBNAIL_SIZE}, reverse=True):
        target = fit_within(size, long_edge)
        larger = [made[edge] for edge in sorted(made) if edge >= 2 * long_edge]
        source = larger[0] if larger else preview
        kernel = THUMBNAIL_KERNEL if long_edge == THUMBNAIL_SIZE else "lanczos3"
        made[long_edge] = (
            source if target == (source.width, source.height) else _resize(source, target, kernel).copy_memory()
        )
    return made


def _resize(image, target, kernel):
    # Both scales given, so that the picture fills the target exactly (one uniform scale would be
    # a fraction of a pixel off on the other side).
    return image.resize(target[0] / image.width, vscale=target[1] / image.height, kernel=kernel)


def _decode(file, max_pixels):
    format = _format_of(file.read(16))
    file.seek(0)
    if format is None:
        raise ImageRejected(NOT_A_PHOTO)
    if format == "HEIF":
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
    image = Image.open(_KeptOpen(file), formats=[format])
    size, exif, icc_profile = image.size, _exif(image), image.info.get("icc_profile")
    _check_pixels(size, exif, max_pixels)
    target = fit_within(size, PREVIEW_SIZE)
    image.load()
    preview = image if image.size == target else image.resize(target, Image.Resampling.HAMMING, reducing_gap=3.0)
    if preview is not image:
        image.close()  # free the decoded pixels now: the peak is decoded + preview, not more
    return _Decoded(format, size, exif, icc_profile, _from_pillow(preview))


def _from_pillow(image):
    """A Pillow picture as libvips bytes: 8 bits, L, LA, RGB, RGBA or CMYK."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.point(lambda value: value * (1 / 256)).convert("L")
    elif image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif image.mode not in ("L", "LA", "RGB", "RGBA", "CMYK"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    vips = pyvips.Image.new_from_memory(image.tobytes(), image.width, image.height, len(image.getbands()), "uchar")
    interpretation = {"L": "b-w", "LA": "b-w", "CMYK": "cmyk"}.get(image.mode, "srgb")
    return vips.copy(interpretation=interpretation)


def _exif(image):
    try:
        exif = image.getexif()
        exif.get_ifd(0x8769)  # parsed now, while the file is at hand
        return exif
    except Exception:  # a mangled EXIF block costs the photo its rotation and date, not its upload
        return Image.Exif()


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
        elif format == "JPEG" and (shrink := _jpeg_shrink(size, target)) > 1:
            sources.append(_vips_source(file))
            image = _vips_load(sources[-1], format, shrink=shrink)  # libjpeg decodes at 1/shrink
        preview = _vips_preview(image, target).copy_memory()
    finally:
        image = None
    return _Decoded(format, size, exif, icc_profile, preview)


def _jpeg_shrink(size, target):
    """The largest DCT scale (1/2, 1/4, 1/8) that still decodes at least `target` on both sides."""
    for shrink in (8, 4, 2):
        if size[0] // shrink >= target[0] and size[1] // shrink >= target[1]:
            return shrink
    return 1


def _vips_source(file):
    """A libvips source reading `file`: the file itself when it has a name on disk (an upload
    spooled to a temporary file), its bytes when it is in memory, else calls back into Python
    (~16 ms more for a 10 MB JPEG: one call per 8 KB)."""
    file.seek(0)
    if hasattr(file, "temporary_file_path"):
        return pyvips.Source.new_from_file(file.temporary_file_path())
    buffer = getattr(file, "file", file)  # Django's uploaded files wrap theirs
    if isinstance(buffer, io.BytesIO):
        return pyvips.Source.new_from_memory(buffer.getvalue())
    source = pyvips.SourceCustom()
    source.on_read(file.read)
    source.on_seek(file.seek)
    return source


def _vips_load(source, format, **options):
    """A lazy libvips image: only the header is read until the pixels are asked for."""
    load = {
        "JPEG": pyvips.Image.jpegload_source,
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
    """Stream `image`'s rows through a shrink to `target`, as 8-bit samples.

    16-bit samples become 8-bit before the shrink (all a JPEG keeps; half the memory and time),
    and transparency is flattened on white there too, so that the colours hidden under
    transparent pixels do not bleed into the edges (and fewer bands are shrunk).
    """
    if image.format not in ("uchar", "ushort"):
        image = image.colourspace("srgb")  # float, signed or Lab TIFFs: libvips knows their space
    if image.format == "ushort":
        image = image.cast("uchar", shift=True)
    image = _flatten(image)
    if (image.width, image.height) != target:
        # Catmull-Rom: after DCT scaling at most a factor < 2 is left; 49 dB PSNR against Lanczos
        # from the full decode, a third of Lanczos 3's work at this scale.
        image = _resize(image, target, "cubic")
    return image


def _flatten(image):
    if image.hasalpha():
        return image.flatten(background=0 if image.interpretation == "cmyk" else 255, max_alpha=255)
    return image


def _upright_size(size, exif):
    if _orientation(exif) in (5, 6, 7, 8):
        return size[1], size[0]
    return size


def _orientation(exif):
    try:
        orientation = int(exif.get(0x0112, 1))
    except Exception:  # a mangled EXIF block costs the photo its rotation, not its upload
        return 1
    return orientation if orientation in _UPRIGHT else 1


def _upright(image, orientation):
    """`image` (in memory) turned as EXIF `orientation` says, as it is read."""
    for operation in _UPRIGHT.get(orientation, ()):
        image = getattr(image, operation)()
    return image


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
    """3-band, 8-bit sRGB: apply the embedded colour profile, flatten transparency on white."""
    image = _flatten(image)
    mode = {"cmyk": "CMYK", "b-w": "L"}.get(image.interpretation, "RGB")
    if image.bands == 1:
        mode = "L"
    if icc_profile and len(icc_profile) <= MAX_ICC_PROFILE and _needs_transform(icc_profile, mode):
        try:
            with_profile = image.copy()
            with_profile.set_type(pyvips.GValue.blob_type, "icc-profile-data", icc_profile)
            # Perceptual, as Pillow's ImageCms did; for the usual matrix profiles (Display P3,
            # Adobe RGB) the same as relative colorimetric.
            return with_profile.icc_transform("srgb", embedded=True, intent="perceptual").copy_memory()
        except pyvips.Error:
            pass  # a profile lcms cannot use: a plain conversion, as for a photo without one
    if mode == "CMYK":
        return image.colourspace("srgb").copy_memory()  # libvips's own CMYK profile
    if image.bands < 3:
        return image.bandjoin([image, image]).copy(interpretation="srgb")
    return image.extract_band(0, n=3) if image.bands > 3 else image


def _needs_transform(icc_profile, mode):
    """Whether the embedded profile needs applying: not when it is broken, nor when it is sRGB.

    Applying a profile costs ~10 ns a pixel, and most photos (Lightroom and camera exports) carry
    an sRGB profile already. A profile whose transform moves no probe colour by more than one
    level out of 255 is sRGB for our purposes: skipped. Profiles are few (one per camera or export
    preset), so the answers are cached, by the profile's hash: keyed by its bytes, a few uploads
    with big made-up profiles would pin their bytes in memory.
    """
    key = (hashlib.sha256(icc_profile).digest(), mode)
    with _TRANSFORMS_LOCK:
        if key in _TRANSFORMS:
            _TRANSFORMS.move_to_end(key)
            return _TRANSFORMS[key]
    needed = _build_needs_transform(icc_profile, mode)
    with _TRANSFORMS_LOCK:
        _TRANSFORMS[key] = needed
        while len(_TRANSFORMS) > 16:
            _TRANSFORMS.popitem(last=False)
    return needed


_TRANSFORMS = OrderedDict()
_TRANSFORMS_LOCK = threading.Lock()
# Camera and export profiles are a few KB, big printer profiles about a megabyte: larger ones
# are ignored (the photo is converted as if it had none).
MAX_ICC_PROFILE = 2 * 1024 * 1024


def _build_needs_transform(icc_profile, mode):
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        transform = ImageCms.buildTransform(source, _SRGB_PROFILE, mode, "RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return False  # a broken profile: a plain conversion
    if mode == "RGB":
        probe = _srgb_probe()
        difference = ImageChops.difference(ImageCms.applyTransform(probe, transform), probe)
        if max(high for _, high in difference.getextrema()) <= 1:
            return False
    return True


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


def _encode(image, format, quality=None):
    """JPEG or WebP bytes without any metadata (no EXIF, GPS, XMP, ICC or comment)."""
    if format == "webp":
        return image.webpsave_buffer(Q=quality or WEBP_QUALITY, effort=WEBP_EFFORT, keep="none")
    return image.jpegsave_buffer(Q=quality or THUMBNAIL_QUALITY, keep="none")


def _placeholder(image):
    """A lossy WebP of the picture at most PLACEHOLDER_SIZE pixels long (~80 bytes): a browser
    stretches it smoothly over the tile while the thumbnail loads."""
    target = fit_within((image.width, image.height), PLACEHOLDER_SIZE)
    return _resize(image, target, "linear").webpsave_buffer(Q=60, effort=6, keep="none")


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
    with decode_slot():
        if format == "HEIF":
            return _heif_to_jpeg(file)
        if format in ("PNG", "TIFF", "WEBP"):
            return _vips_to_jpeg(file, format)
    raise ImageRejected(NOT_A_PHOTO)


_TRANSPOSE_FOR_ORIENTATION = {  # for Pillow images: _UPRIGHT names libvips' operations
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


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
            colours = _to_srgb(_from_pillow(image.convert("RGB") if has_alpha else image), icc_profile)
        if alpha is not None:
            colours = colours.bandjoin(_from_pillow(alpha))
        colours = _upright(colours, _orientation(exif))
        colours = Image.frombytes(
            "RGBA" if has_alpha else "RGB", (colours.width, colours.height), colours.write_to_memory()
        )
        if has_alpha:
            colours = colours.crop(colours.getchannel("A").getbbox() or (0, 0, 1, 1))
            colours = colours.convert("RGBa")  # premultiplied, so clear pixels do not bleed into edges
        colours.thumbnail(LOGO_SIZE, Image.Resampling.LANCZOS)
        if has_alpha:
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


# Watermarks: the photographer's mark, burned into the pixels of what a watermarked link serves.

WATERMARK_POSITIONS = ("center", "bottom-right", "bottom-left", "tiled")
WATERMARK_IMAGE_SIZE = 2048  # a mark is kept at most this long: 100% of a preview's shorter side
# An upload is decoded whole, in the web process: at most this long a side (a 16-bit RGBA PNG of
# 4096 x 4096 is 134 MB decoded), and a request waits at most WATERMARK_DECODE_WAIT seconds for
# a decode slot.
WATERMARK_MAX_SIDE = 4096
WATERMARK_DECODE_WAIT = 10
NOT_A_WATERMARK = "Upload the watermark as a PNG (best with a transparent background) or a JPEG image."
WATERMARK_MARGIN = 0.03  # of the photo's shorter side, between a corner mark and the edges
WATERMARK_TILE_GAP = 0.5  # of the mark's size, between tiled marks
WATERMARK_TEXT_WEIGHT = 600  # of the variable fonts' weight axis: semibold reads at small sizes
# What a watermarked link serves of a photo, made from its clean preview: {name: (long edge, format,
# quality)}, as the clean ones are made (a photo has the SIZES that sizes_for() gives it).
WATERMARKED = {
    "thumbnail.jpg": (THUMBNAIL_SIZE, "jpeg", THUMBNAIL_QUALITY),
    "preview.jpg": (PREVIEW_SIZE, "jpeg", PREVIEW_QUALITY),
    **{name: (long_edge, format, None) for name, (long_edge, format) in SIZES.items()},
}


@dataclass(frozen=True)
class Watermark:
    """What to burn in: `image` (a PNG from make_watermark_image()), else `text` drawn in the font
    at `font_file`; where (one of WATERMARK_POSITIONS), how opaque (percent) and how large (its
    longer side, in percent of the photo's shorter side)."""

    image: bytes = b""
    text: str = ""
    font_file: str = ""
    position: str = "center"
    opacity: int = 50
    scale: int = 30


def make_watermark_image(file):
    """A watermark image as a PNG with transparency: decoded whole (nothing but its pixels
    survives), upright, in sRGB, empty transparent margins trimmed, at most WATERMARK_IMAGE_SIZE
    long. Raises ImageRejected, with a message for the photographer, for anything but a whole PNG
    or JPEG image of at most WATERMARK_MAX_SIDE pixels a side with something visible in it, and
    Busy when no decode slot frees up in time."""
    file.seek(0)
    data = file.read()
    file.seek(0)
    if _format_of(data[:16]) not in ("JPEG", "PNG"):
        raise ImageRejected(NOT_A_WATERMARK)
    try:
        image = pyvips.Image.new_from_buffer(data, "", fail_on="error")  # reads the header only
        if max(image.width, image.height) > WATERMARK_MAX_SIDE:
            raise ImageRejected(
                f"This image is {image.width} × {image.height} pixels; a watermark image may be at most "
                f"{WATERMARK_MAX_SIDE} pixels a side. Export it smaller (about 2000 pixels is plenty)."
            )
        with decode_slot(WATERMARK_DECODE_WAIT):
            return _watermark_png(image)
    except ImageRejected:
        raise
    except pyvips.Error:
        logger.info("Refused a watermark that failed to decode", exc_info=True)
        raise ImageRejected("This image is damaged or incomplete (was the upload cut short?).") from None


def _watermark_png(image):
    """The decoded mark (decoding happens here: pyvips is lazy) as make_watermark_image() makes it."""
    image = image.autorot()
    if image.get_typeof("icc-profile-data"):
        image = image.icc_transform("srgb", embedded=True)
    if image.interpretation not in ("srgb", "b-w") or image.format != "uchar":
        image = image.colourspace("srgb").cast("uchar")
    if image.bands < 3:
        image = image.colourspace("srgb")
    if not image.hasalpha():
        image = image.bandjoin(255)
    image = image.cast("uchar")
    left, top, width, height = image.extract_band(3).find_trim(background=[0], threshold=0, line_art=True)
    if width == 0 or height == 0:
        raise ImageRejected("This image is transparent all over: there is nothing to show as a watermark.")
    image = image.crop(left, top, width, height)
    if max(width, height) > WATERMARK_IMAGE_SIZE:
        image = _resize_with_alpha(image, WATERMARK_IMAGE_SIZE / max(width, height))
    return image.pngsave_buffer(compression=6, keep="none")


def _resize_with_alpha(image, scale):
    # Premultiplied, so that the colours under transparent pixels do not bleed into the edges.
    return image.premultiply().resize(scale, kernel="lanczos3").unpremultiply().cast("uchar")


def burn_watermark(picture, watermark):
    """Lay `watermark` over `picture` (a Pillow RGB image), in place. Pixels the mark leaves clear
    keep their values exactly. Pillow blends: its paste through a mask costs a third of libvips'
    blend here."""
    size = picture.size
    mark = _mark(watermark, max(1, round(min(size) * watermark.scale / 100)), size)
    for place in _places(watermark.position, mark.size, size):
        picture.paste(mark, place, mark)
    return picture


def _places(position, mark, size):
    """Where the mark's top-left corners go: one place, or rows shifted by half a mark (tiled)."""
    (mark_width, mark_height), (width, height) = mark, size
    if position == "tiled":
        step_x = mark_width + round(mark_width * WATERMARK_TILE_GAP)
        step_y = mark_height + round(max(mark_height, mark_width / 2) * WATERMARK_TILE_GAP)
        # One mark in the very centre, the others around it.
        first_x = (width - mark_width) // 2 % step_x - step_x
        first_y = (height - mark_height) // 2 % step_y - step_y
        rows = range(first_y, height, step_y)
        return [
            (x, y)
            for row, y in enumerate(rows)
            for x in range(first_x - (step_x // 2 if (row - len(rows) // 2) % 2 else 0), width, step_x)
        ]
    margin = round(min(size) * WATERMARK_MARGIN)
    x = {"bottom-left": margin, "bottom-right": width - mark_width - margin}.get(position, (width - mark_width) // 2)
    y = (height - mark_height) // 2 if position == "center" else height - mark_height - margin
    return [(max(0, x), max(0, y))]


@lru_cache(maxsize=64)
def _mark(watermark, long_edge, within):
    """The mark as a Pillow RGBA image whose longer side is `long_edge` (no larger than `within`),
    at its opacity. Kept: a gallery's photos share a few sizes."""
    if watermark.image:
        with Image.open(io.BytesIO(watermark.image), formats=["PNG"]) as image:
            mark = image.convert("RGBa")  # premultiplied, so clear pixels do not bleed into edges
        scale = long_edge / max(mark.size)
        mark = mark.resize((max(1, round(mark.width * scale)), max(1, round(mark.height * scale))), Image.LANCZOS)
        mark = mark.convert("RGBA")
    else:
        mark = _text_mark(watermark.text, watermark.font_file, long_edge)
    if mark.width > within[0] or mark.height > within[1]:  # 100% of the shorter side, and the text's shadow
        mark.thumbnail(within, Image.LANCZOS)
    if watermark.opacity < 100:
        mark.putalpha(mark.getchannel("A").point(lambda alpha: round(alpha * watermark.opacity / 100)))
    return mark


def _text_mark(text, font_file, long_edge):
    """`text` in white, outlined and shadowed in black (legible on light and dark photos alike),
    its longer side `long_edge`, as a Pillow RGBA image."""
    font = _watermark_font(font_file, 200)
    left, top, right, bottom = font.getbbox(text)
    size = max(4, round(200 * long_edge / max(1, right - left, bottom - top)))
    font = _watermark_font(font_file, size)
    stroke = max(1, round(size / 28))
    left, top, right, bottom = font.getbbox(text, stroke_width=stroke)
    pad = max(2, size // 10)
    canvas = (right - left + 2 * pad, bottom - top + 2 * pad)
    origin = (pad - left, pad - top)
    glyphs, outline = Image.new("L", canvas, 0), Image.new("L", canvas, 0)
    ImageDraw.Draw(glyphs).text(origin, text, font=font, fill=255)
    ImageDraw.Draw(outline).text(origin, text, font=font, fill=255, stroke_width=stroke, stroke_fill=255)
    shadow = ImageChops.offset(outline, 0, max(1, size // 30)).filter(ImageFilter.GaussianBlur(max(1, size / 16)))
    black = Image.new("RGB", canvas, 0).split()
    mark = Image.new("RGBA", canvas, (0, 0, 0, 0))
    mark.alpha_composite(Image.merge("RGBA", [*black, shadow.point(lambda a: a * 0.45)]))
    mark.alpha_composite(Image.merge("RGBA", [*black, outline.point(lambda a: a * 0.6)]))
    mark.alpha_composite(Image.merge("RGBA", [*Image.new("RGB", canvas, (255, 255, 255)).split(), glyphs]))
    return mark


def _watermark_font(font_file, size):
    font = ImageFont.truetype(font_file, size)
    try:
        font.set_variation_by_axes([WATERMARK_TEXT_WEIGHT])
    except OSError:  # not a variable font
        pass
    return font


def watermarked_renditions(preview, watermark, names=tuple(WATERMARKED)):
    """The renditions `names` (of WATERMARKED) of the photo whose clean preview JPEG is `preview`,
    with `watermark` burned in: {name: bytes}, without metadata. The mark is burned in once, into
    the largest one asked for; each smaller one is shrunk from it, as the clean ones are from the
    clean preview. Outside the mark the pixels are the clean renditions' (but for JPEG's noise)."""
    names = sorted(names, key=lambda name: -WATERMARKED[name][0])
    try:
        with Image.open(io.BytesIO(preview), formats=["JPEG"]) as image:
            target = fit_within(image.size, WATERMARKED[names[0]][0])
            image.draft("RGB", target)
            picture = image.convert("RGB")
    except (OSError, SyntaxError, Image.DecompressionBombError):
        raise ImageRejected(DAMAGED) from None
    if picture.size != target:
        picture = picture.resize(target, Image.Resampling.LANCZOS)
    burn_watermark(picture, watermark)
    burned = pyvips.Image.new_from_memory(picture.tobytes(), *picture.size, 3, "uchar").copy(interpretation="srgb")
    # Shrunk as the clean ones are (_make_sizes: each from a larger one already made).
    pictures = _make_sizes(burned, (burned.width, burned.height), [name for name in names if name in SIZES])
    made = {}
    for name in names:
        long_edge, format, quality = WATERMARKED[name]
        sized = pictures.get(long_edge, burned) if long_edge < max(burned.width, burned.height) else burned
        made[name] = _encode(sized, format, quality)
    return made


def watermark_sample(preview, watermark, long_edge):
    """A JPEG `long_edge` long of the clean preview JPEG `preview` (None: a picture half light and
    half dark) with `watermark` burned in: what the watermark's page shows."""
    if preview is None:
        picture = Image.new("RGB", fit_within((3, 2), long_edge), (38, 42, 48))
        picture.paste((238, 234, 226), (0, 0, picture.width // 2, picture.height))
    else:
        with Image.open(io.BytesIO(preview), formats=["JPEG"]) as image:
            image.draft("RGB", fit_within(image.size, long_edge))
            picture = image.convert("RGB")
        picture.thumbnail((long_edge, long_edge), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    burn_watermark(picture, watermark).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def watermarked_full_size(file, watermark):
    """The full-size JPEG in `file` (upright: a JPEG original, or a full-size JPEG made from
    another format) with `watermark` burned in: turned as its EXIF orientation says, the colour
    profile kept, quality FULL_SIZE_QUALITY, no other metadata (nothing private to strip).
    One at a time per process, like uploads' decodes: the picture is decoded whole."""
    file.seek(0)
    with decode_slot(), Image.open(_KeptOpen(file), formats=["JPEG"]) as image:
        icc_profile = image.info.get("icc_profile") if image.mode != "CMYK" else None
        picture = ImageOps.exif_transpose(image).convert("RGB")
        burn_watermark(picture, watermark)
        buffer = io.BytesIO()
        picture.save(buffer, "JPEG", quality=FULL_SIZE_QUALITY, subsampling=0, icc_profile=icc_profile)
        return buffer.getvalue()
