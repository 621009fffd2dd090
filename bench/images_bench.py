"""Target 1: the image pipeline (galleries.images.make_renditions) on a 24 MP camera JPEG.

Compares, in the same run and interleaved:
  decode   - only decoding the JPEG at the reduced (draft) scale the pipeline needs
  pipeline - make_renditions(): thumbnail + preview from one decode
  naive    - full decode, EXIF transpose, LANCZOS resize and JPEG encode per rendition
Peak memory: each variant runs once in a fresh subprocess; we read ru_maxrss before and after
(Pillow allocates pixel memory with malloc, which tracemalloc does not see).
Throughput: photos per second with 2 worker processes (two parallel uploads on 2 cores).
"""

import io
import json
import math
import multiprocessing
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from PIL import Image, ImageOps

from bench.measure import interleaved, maxrss_kib, median, ms, table, verdict, write_result
from bench.photos import camera_jpeg, real_photos
from galleries import images
from galleries.images import PREVIEW_SIZE, THUMBNAIL_SIZE, make_renditions

MAX_PIXELS = 120_000_000


def decode_draft(data):
    """Decode at the scale the pipeline needs: the smallest DCT scale still >= the preview size."""
    image = Image.open(io.BytesIO(data))
    scale = min(1.0, PREVIEW_SIZE / max(image.size))
    image.draft("RGB", (math.ceil(image.width * scale), math.ceil(image.height * scale)))
    image.load()
    return image


def pipeline(data):
    return make_renditions(io.BytesIO(data), MAX_PIXELS)


def naive(data):
    image = Image.open(io.BytesIO(data))
    image.load()
    image = ImageOps.exif_transpose(image)
    out = []
    for long_edge, quality in ((PREVIEW_SIZE, 85), (THUMBNAIL_SIZE, 80)):
        scale = min(1.0, long_edge / max(image.size))
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        rendition = image.resize(size, Image.Resampling.LANCZOS).convert("RGB")
        buffer = io.BytesIO()
        rendition.save(buffer, "JPEG", quality=quality)
        out.append(buffer.getvalue())
    return out


VARIANTS = {"decode": decode_draft, "pipeline": pipeline, "naive": naive}


# What would meet "pipeline <= 1.5x decode": the pipeline's steps (galleries.images) with one change.
_threads = None


def what_if(data, preview_filter=Image.Resampling.HAMMING, threads=False):
    global _threads
    image = Image.open(io.BytesIO(data))
    transpose = images._TRANSPOSE_FOR_ORIENTATION.get(images._orientation(image.getexif()))
    target = images.fit_within(image.size, PREVIEW_SIZE)
    image.draft("RGB", target)
    image.load()
    if threads:  # two horizontal strips resized on two cores (Pillow releases the GIL), then joined
        _threads = _threads or ThreadPoolExecutor(2)
        half, scale = target[1] // 2, image.height / target[1]
        strips = [
            _threads.submit(image.resize, (target[0], half), preview_filter, (0, 0, image.width, half * scale)),
            _threads.submit(
                image.resize,
                (target[0], target[1] - half),
                preview_filter,
                (0, half * scale, image.width, image.height),
            ),
        ]
        preview = Image.new("RGB", target)
        preview.paste(strips[0].result(), (0, 0))
        preview.paste(strips[1].result(), (0, half))
    else:
        preview = image.resize(target, preview_filter)
    image.close()
    if transpose is not None:
        preview = preview.transpose(transpose)

    def thumbnail():
        size = images.fit_within(preview.size, THUMBNAIL_SIZE)
        return images._jpeg_bytes(preview.resize(size, Image.Resampling.BICUBIC, reducing_gap=1.5), 80)

    thumb = _threads.submit(thumbnail) if threads else None
    preview_bytes = images._jpeg_bytes(preview, 85)
    return (thumb.result() if threads else thumbnail()), preview_bytes


WHAT_IFS = {
    "what-if: BOX preview filter": lambda data: what_if(data, Image.Resampling.BOX),
    "what-if: 2 threads": lambda data: what_if(data, threads=True),
}


def _memory_child(variant, path):
    """Run in a fresh interpreter: print the peak-RSS growth (KiB) of one run of `variant`."""
    data = open(path, "rb").read()
    Image.open(io.BytesIO(data)).getexif()  # load Pillow's plugins and codecs before the baseline
    Image.new("RGB", (8, 8)).save(io.BytesIO(), "JPEG")
    before = maxrss_kib()
    VARIANTS[variant](data)
    print(json.dumps({"peak_growth_kib": maxrss_kib() - before}))


def peak_memory(variant, path, repeats=3):
    values = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-m", "bench.images_bench", "--memory", variant, str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
        values.append(json.loads(out.stdout)["peak_growth_kib"])
    return median(values) / 1024  # MiB


_worker_data = None


def _init_worker(path):
    global _worker_data
    _worker_data = open(path, "rb").read()
    pipeline(_worker_data)  # warm up


def _work(variant):
    VARIANTS[variant](_worker_data)


def photos_per_second(path, processes, count, variant="pipeline"):
    with multiprocessing.get_context("fork").Pool(processes, _init_worker, (str(path),)) as pool:
        pool.map(_work, [variant] * processes)  # every worker warm
        start = time.perf_counter()
        pool.map(_work, [variant] * count, chunksize=1)
        return count / (time.perf_counter() - start)


def run(quick=False):
    rounds = 2 if quick else 9
    dimensions = (1200, 800) if quick else (6000, 4000)
    path = camera_jpeg(*dimensions)
    data = path.read_bytes()
    with Image.open(path) as image:
        size, orientation = image.size, image.getexif().get(0x0112)
    icc_data = camera_jpeg(*dimensions, srgb_icc=True).read_bytes()
    renditions = pipeline(data)
    times = interleaved(
        {
            **{name: (lambda fn=fn: fn(data)) for name, fn in {**VARIANTS, **WHAT_IFS}.items()},
            "pipeline, sRGB ICC": lambda: pipeline(icc_data),
        },
        rounds,
    )
    med = {name: median(values) for name, values in times.items()}
    best = {name: min(values) for name, values in times.items()}  # least disturbed by neighbours
    memory = {name: peak_memory(name, path, repeats=1 if quick else 3) for name in VARIANTS}
    count = 4 if quick else 16
    throughput = {
        "pipeline_1_process": photos_per_second(path, 1, count // 2),
        "pipeline_2_processes": photos_per_second(path, 2, count),
        "naive_2_processes": photos_per_second(path, 2, count // 2, "naive"),
    }

    real = {}
    photos = real_photos()[:2] if quick else real_photos()
    if photos:
        datas = [p.read_bytes() for p in photos]
        real_times = interleaved(
            {name: (lambda fn=fn: [fn(d) for d in datas]) for name, fn in VARIANTS.items()}, 1 if quick else 5
        )
        with Image.open(photos[0]) as first:
            real = {
                "photos": len(photos),
                "first_size": first.size,
                "median_ms_per_photo": {n: median(v) / len(photos) * 1000 for n, v in real_times.items()},
            }

    ratio_decode = med["pipeline"] / med["decode"]
    ratio_naive = med["naive"] / med["pipeline"]
    ratio_memory = memory["naive"] / memory["pipeline"]
    result = {
        "input": {
            "path": str(path),
            "bytes": len(data),
            "size": size,
            "exif_orientation": orientation,
            "preview_bytes": len(renditions.preview),
            "thumbnail_bytes": len(renditions.thumbnail),
            "upright_size": (renditions.width, renditions.height),
        },
        "rounds": rounds,
        "seconds": times,
        "median_seconds": med,
        "min_seconds": best,
        "peak_rss_growth_mib": memory,
        "photos_per_second": throughput,
        "real_photos": real,
        "ratios": {
            "pipeline_over_decode": ratio_decode,
            "naive_over_pipeline": ratio_naive,
            "pipeline_over_decode_best_of_rounds": best["pipeline"] / best["decode"],
            "naive_memory_over_pipeline": ratio_memory,
        },
        "targets": {
            "pipeline <= 1.5x decode": ratio_decode <= 1.5,
            "pipeline >= 2.5x faster than naive": ratio_naive >= 2.5,
            "pipeline memory <= 1/3 naive": ratio_memory >= 3,
        },
    }
    write_result("images", result)

    print(
        f"\n### 1. Image pipeline — {size[0]}x{size[1]} JPEG, {len(data) / 1e6:.1f} MB, EXIF orientation "
        f"{orientation} ({rounds} interleaved rounds, medians)\n"
    )
    print(
        table(
            ["variant", "median time", "÷ decode", "best of rounds", "÷ decode (best)", "peak RSS growth"],
            [
                [
                    n,
                    ms(med[n]),
                    f"{med[n] / med['decode']:.2f}×",
                    ms(best[n]),
                    f"{best[n] / best['decode']:.2f}×",
                    f"{memory[n]:.0f} MiB" if n in memory else "",
                ]
                for n in med
            ],
        )
    )
    print()
    print(
        table(
            ["target", "figure", "verdict"],
            [
                ["pipeline ≤ 1.5× draft decode", f"{ratio_decode:.2f}×", verdict(ratio_decode <= 1.5)],
                ["pipeline ≥ 2.5× faster than naive", f"{ratio_naive:.2f}×", verdict(ratio_naive >= 2.5)],
                ["peak memory ≤ ⅓ of naive", f"{ratio_memory:.1f}× less", verdict(ratio_memory >= 3)],
                ["photos/s, 1 process", f"{throughput['pipeline_1_process']:.1f}", "(report)"],
                ["photos/s, 2 processes (2 cores)", f"{throughput['pipeline_2_processes']:.1f}", "(report)"],
                ["photos/s naive, 2 processes", f"{throughput['naive_2_processes']:.1f}", "(report)"],
            ],
        )
    )
    if real:
        print(
            f"\nReal photos ({real['photos']} files, e.g. {real['first_size'][0]}x{real['first_size'][1]}), "
            "median ms per photo: " + ", ".join(f"{n} {v:.1f}" for n, v in real["median_ms_per_photo"].items())
        )
    else:
        print("\nReal photos: not found, skipped.")
    return result


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--memory":
        _memory_child(sys.argv[2], sys.argv[3])
    else:
        run(quick="--quick" in sys.argv)
