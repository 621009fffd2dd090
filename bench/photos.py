"""Camera-like test photos for the benchmarks, made once and cached, and the shared real photos."""

import io
import os
import random
from pathlib import Path

from PIL import Image, ImageCms

from bench.measure import RESULTS

CACHE = RESULTS / "cache"
REAL_PHOTOS = Path(os.environ.get("VIEWPORT_BENCH_PHOTOS", "/work/shared/testdata/orientation"))


def camera_jpeg(width=6000, height=4000, quality=95, seed=7, orientation=6, srgb_icc=False):
    """A camera-like JPEG (at the default size 24 megapixels, ~10 MB): smooth scene, mid-scale
    texture and sensor-like noise, with an EXIF orientation tag (6: rotate 90° clockwise to view,
    as from a portrait shot).

    Deterministic (seeded), and cached under <results>/cache/.
    """
    path = CACHE / f"camera-{width}x{height}-q{quality}-o{orientation}-s{seed}{'-srgb' if srgb_icc else ''}.jpg"
    if path.exists():
        return path
    rng = random.Random(seed)
    scene = Image.frombytes("RGB", (60, 40), rng.randbytes(60 * 40 * 3)).resize(
        (width, height), Image.Resampling.BICUBIC
    )
    texture = Image.frombytes("RGB", (750, 500), rng.randbytes(750 * 500 * 3)).resize(
        (width, height), Image.Resampling.BILINEAR
    )
    image = Image.blend(scene, texture, 0.25)
    tile = Image.frombytes("RGB", (1024, 1024), rng.randbytes(1024 * 1024 * 3))
    noise = Image.new("RGB", (width, height))
    for y in range(0, height, 1024):
        for x in range(0, width, 1024):
            noise.paste(tile, (x, y))
    image = Image.blend(image, noise, 0.075)
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "Viewport Bench"
    exif[0x0110] = "Synthetic 24MP"
    buffer = io.BytesIO()
    extra = {}
    if srgb_icc:  # as Lightroom and most cameras' exports embed
        extra["icc_profile"] = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image.save(buffer, "JPEG", quality=quality, exif=exif.tobytes(), **extra)
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(buffer.getvalue())
    tmp.rename(path)
    return path


def real_photos():
    return sorted(REAL_PHOTOS.glob("*.jpg")) if REAL_PHOTOS.is_dir() else []
