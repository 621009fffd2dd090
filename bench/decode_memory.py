"""Peak memory and time of decoding the largest accepted photo in each format (issue #12).

    .venv/bin/python -m bench.decode_memory [--quick]

Each photo is 14204 × 10652 (a Phase One IQ4 150 MP frame; HEIC 8064 × 6048, a 48 MP iPhone frame,
since x265 takes minutes for 150 MP), made by libvips and cached in bench/results/cache/. Each
variant runs once per photo in a fresh interpreter, which reports its peak RSS (VmHWM) growth over
its RSS before the call: Pillow and libvips allocate pixels in C, which tracemalloc does not see.

  pipeline - galleries.images.make_renditions(), as the upload calls it (every size)
  today    - the pipeline before issue #25 (bench/baseline.py): libvips for PNG, TIFF and WebP,
             Pillow for JPEG (at its DCT scale) and HEIC, thumbnail and preview only

--quick uses 6000 × 4000 photos.
"""

import io
import json
import subprocess
import sys
import time

from bench.baseline import REPO, baseline_images
from bench.measure import maxrss_kib, table, write_result
from bench.photos import CACHE

FULL, QUICK = (14204, 10652), (6000, 4000)
HEIC_FULL = (8064, 6048)


def photos(size):
    """{name: (path, width, height)}: one photo per accepted format and depth, cached on disk."""
    import pyvips

    width, height = size
    heic_size = HEIC_FULL if size == FULL else size
    specs = {
        "JPEG baseline, q90": ("jpg", size, lambda rgb: rgb.jpegsave_buffer(Q=90)),
        "JPEG progressive, 4:4:4": (
            "jpg",
            size,
            lambda rgb: rgb.jpegsave_buffer(Q=90, interlace=True, subsample_mode="off"),
        ),
        "PNG 8-bit RGB": ("png", size, lambda rgb: rgb.pngsave_buffer(compression=9)),
        "PNG 16-bit RGBA": ("png", size, lambda rgb: _16bit(_with_alpha(rgb)).pngsave_buffer(compression=9)),
        "TIFF 8-bit RGB, deflate": ("tif", size, lambda rgb: rgb.tiffsave_buffer(compression="deflate")),
        "TIFF 16-bit RGB, deflate": ("tif", size, lambda rgb: _16bit(rgb).tiffsave_buffer(compression="deflate")),
        "WebP RGBA, lossy": ("webp", size, lambda rgb: _with_alpha(rgb).webpsave_buffer(Q=80, effort=0)),
        "HEIC 8-bit RGB": ("heic", heic_size, _heic),
    }
    found = {}
    for name, (suffix, (w, h), encode) in specs.items():
        path = CACHE / f"decode-{w}x{h}-{name.replace(' ', '').replace(',', '-').replace(':', '')}.{suffix}"
        if not path.exists():
            CACHE.mkdir(parents=True, exist_ok=True)
            print(f"  making {path.name} ...", file=sys.stderr, flush=True)
            path.with_suffix(".tmp").write_bytes(encode(_picture(pyvips, w, h)))
            path.with_suffix(".tmp").rename(path)
        found[name] = (path, w, h)
    return found


def _picture(pyvips, width, height):
    """Gradients and a grid: something for the encoders to work on, drawn lazily by libvips."""
    xyz = pyvips.Image.xyz(width, height)
    x, y = xyz[0], xyz[1]
    red = x * (255 / width)
    green = y * (255 / height)
    blue = ((x % 512) < 256).ifthenelse(200, 40)
    return red.bandjoin([green, blue]).cast("uchar").copy(interpretation="srgb")


def _with_alpha(rgb):
    return rgb.bandjoin(255)


def _16bit(image):
    return (image * 257).cast("ushort").copy(interpretation="rgb16")


def _heic(rgb):
    import pillow_heif

    heif = pillow_heif.from_bytes("RGB", (rgb.width, rgb.height), rgb.write_to_memory())
    buffer = io.BytesIO()
    heif.save(buffer, quality=60, enc_params={"preset": "ultrafast"})
    return buffer.getvalue()


def pipeline(file):
    from galleries.images import make_renditions

    return make_renditions(file, max_pixels=10**9)


def today(file):
    return baseline_images().make_renditions(file, max_pixels=10**9)


VARIANTS = {"pipeline": pipeline, "today": today}


def _child(variant, path):
    """In a fresh interpreter: peak RSS growth (KiB) and seconds of one run of `variant` on `path`."""
    from PIL import Image

    import galleries.images  # noqa: F401  libraries loaded before the baseline

    if variant == "today":
        baseline_images()
    Image.new("RGB", (8, 8)).save(io.BytesIO(), "JPEG")
    with open(path, "rb") as file:
        before = maxrss_kib()
        started = time.perf_counter()
        try:
            VARIANTS[variant](file)
            error = None
        except Exception as exception:
            error = str(exception)[:120] or type(exception).__name__
        seconds = time.perf_counter() - started
    print(json.dumps({"peak_growth_kib": maxrss_kib() - before, "seconds": seconds, "error": error}))


def measure(variant, path):
    out = subprocess.run(
        [sys.executable, "-m", "bench.decode_memory", "--child", variant, str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if out.returncode != 0:
        return {"peak_growth_kib": None, "seconds": None, "error": (out.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(out.stdout)


def main(argv):
    if argv[:1] == ["--child"]:
        return _child(argv[1], argv[2])
    size = QUICK if "--quick" in argv else FULL
    rows, results = [], {}
    for name, (path, width, height) in photos(size).items():
        row = {variant: measure(variant, path) for variant in VARIANTS}
        results[name] = {"path": str(path), "bytes": path.stat().st_size, "size": [width, height], **row}
        cells = []
        for variant in VARIANTS:
            result = row[variant]
            if result["error"] or result["peak_growth_kib"] is None:
                cells += [f"fails: {result['error']}", ""]
            else:
                cells += [f"{result['peak_growth_kib'] / 1024:,.0f} MiB", f"{result['seconds']:.2f} s"]
        rows.append([name, f"{width} × {height}", f"{path.stat().st_size / 1e6:.1f} MB", *cells])
    print(table(["photo", "pixels", "file", "pipeline: peak RSS", "time", "today: peak RSS", "time"], rows))
    print(f"\nresults: {write_result('decode_memory', {'photos': results})}")


if __name__ == "__main__":
    main(sys.argv[1:])
