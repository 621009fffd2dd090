"""Shared helpers for the benchmarks: test photos, timing, memory readings and result files."""

import io
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
CACHE = RESULTS / "cache"
REAL_PHOTOS = Path(os.environ.get("VIEWPORT_BENCH_PHOTOS", "/work/shared/testdata/orientation"))


def camera_jpeg(width=6000, height=4000, quality=95, seed=7, orientation=6, srgb_icc=False):
    """A 24-megapixel, ~10 MB camera-like JPEG: smooth scene, mid-scale texture and sensor-like
    noise, with an EXIF orientation tag (6: rotate 90° clockwise to view, as from a portrait shot).

    Deterministic (seeded), and cached under bench/results/cache/.
    """
    path = CACHE / f"camera-{width}x{height}-q{quality}-o{orientation}-s{seed}{'-srgb' if srgb_icc else ''}.jpg"
    if path.exists():
        return path
    from PIL import Image

    rng = random.Random(seed)
    scene = Image.frombytes("RGB", (60, 40), rng.randbytes(60 * 40 * 3)).resize((width, height), Image.Resampling.BICUBIC)
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
        from PIL import ImageCms

        extra["icc_profile"] = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image.save(buffer, "JPEG", quality=quality, exif=exif.tobytes(), **extra)
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(buffer.getvalue())
    tmp.rename(path)
    return path


def real_photos():
    return sorted(REAL_PHOTOS.glob("*.jpg")) if REAL_PHOTOS.is_dir() else []


def median(values):
    return statistics.median(values)


def timed(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def interleaved(variants, rounds, warmup=1):
    """Run each variant `rounds` times, interleaved (A B C A B C ...) so a noisy neighbour hits
    all of them alike; return {name: [seconds, ...]}."""
    for _ in range(warmup):
        for fn in variants.values():
            fn()
    times = {name: [] for name in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            times[name].append(timed(fn))
    return times


def maxrss_kib():
    """This process's peak RSS in KiB. VmHWM, not getrusage(): ru_maxrss survives exec(), so a
    child started by a big parent reports the parent's peak."""
    return proc_status("self", ("VmHWM",)).get("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def proc_status(pid, fields=("VmRSS", "VmHWM")):
    """{field: KiB} from /proc/<pid>/status."""
    values = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in fields:
                values[key] = int(rest.split()[0])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return values


def machine():
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average": os.getloadavg(),
    }


def git_revision():
    try:
        return subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def write_result(name, data):
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {"benchmark": name, "machine": machine(), "git": git_revision(), **data}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=str))
    return path


def table(headers, rows):
    """A markdown table as a string."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def verdict(ok):
    return "met" if ok else "**NOT met**"


def ms(seconds):
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.2f} ms"
