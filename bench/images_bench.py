"""Target 1: the image pipeline (galleries.images.make_renditions) on a 24 MP camera JPEG.

Compares, in the same run and interleaved (CPU time of this process, which the machine's other
load disturbs far less than wall time; wall time is reported too):
  decode                 - only decoding the JPEG at 1/2 scale with Pillow (draft): the floor
  decode, libvips        - the same with libvips (shrink=2), the decoder the pipeline uses
  today                  - the pipeline before issue #25 (bench/baseline.py): thumbnail + preview
  pipeline               - make_renditions(sizes=()): the same two files (and the placeholder)
  pipeline, every size   - make_renditions(): also the srcset sizes (images.SIZES) and the placeholder
  naive                  - full decode, EXIF transpose, LANCZOS resize and JPEG encode per rendition
Quality: PSNR of the thumbnail and preview against a LANCZOS resize of the full decode, as
delivered (decoded JPEG) and before encoding, today's and the pipeline's; and of the thumbnails
of the real photos (../shared/testdata, when present), each judged against today's.
Peak memory: each variant once in a fresh subprocess (VmHWM growth: Pillow and libvips allocate
pixels with malloc, which tracemalloc does not see).
Throughput: photos per second with 1 and 2 worker processes (parallel uploads on 2 cores).
"""

import io
import json
import math
import multiprocessing
import subprocess
import sys
import time

import pyvips
from PIL import Image, ImageChops, ImageOps

from bench.baseline import NoBaseline, baseline_images, describe
from bench.measure import maxrss_kib, median, ms, table, verdict, write_result
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


def decode_vips(data):
    return pyvips.Image.jpegload_buffer(data, shrink=2, access="sequential").write_to_memory()


def pipeline(data):
    return make_renditions(io.BytesIO(data), MAX_PIXELS, sizes=())


def pipeline_every_size(data):
    return make_renditions(io.BytesIO(data), MAX_PIXELS)


def today(data):
    return baseline_images().make_renditions(io.BytesIO(data), MAX_PIXELS)


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


VARIANTS = {
    "decode": decode_draft,
    "decode, libvips": decode_vips,
    "today": today,
    "pipeline": pipeline,
    "pipeline, every size": pipeline_every_size,
    "naive": naive,
}


def timed_rounds(variants, rounds):
    """{name: [(cpu seconds, wall seconds), ...]}, interleaved (A B C A B C ...) after a warm-up."""
    for fn in variants.values():
        fn()
    times = {name: [] for name in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            cpu, wall = time.process_time(), time.perf_counter()
            fn()
            times[name].append((time.process_time() - cpu, time.perf_counter() - wall))
    return times


# Quality


def psnr(image, reference):
    difference = ImageChops.difference(image.convert("RGB"), reference)
    histograms = [difference.getchannel(band).histogram() for band in range(3)]
    squared = sum(value * value * count for histogram in histograms for value, count in enumerate(histogram))
    mse = squared / (image.width * image.height * 3)
    return 10 * math.log10(255**2 / mse) if mse else math.inf


def _decoded(data):
    return Image.open(io.BytesIO(data))


def _from_vips(image):
    return Image.frombytes("RGB", (image.width, image.height), image.write_to_memory())


def pipeline_pixels(data):
    """(preview, thumbnail) of the pipeline before encoding, as Pillow images."""
    decoded = images._decode(io.BytesIO(data), MAX_PIXELS)
    orientation = images._orientation(decoded.exif)
    preview = images._to_srgb(decoded.preview, decoded.icc_profile)
    made = images._make_sizes(preview, decoded.size, [])
    return (
        _from_vips(images._upright(preview, orientation)),
        _from_vips(images._upright(made[THUMBNAIL_SIZE], orientation)),
    )


def today_pixels(data):
    """(preview, thumbnail) of today's pipeline before encoding, by its own steps."""
    before = baseline_images()
    image = Image.open(io.BytesIO(data))
    exif, icc_profile = before._exif(image), image.info.get("icc_profile")
    preview = before._to_srgb(before._shrink(image, PREVIEW_SIZE), icc_profile)
    transpose = before._TRANSPOSE_FOR_ORIENTATION.get(before._orientation(exif))
    if transpose is not None:
        preview = preview.transpose(transpose)
    size = before.fit_within(preview.size, THUMBNAIL_SIZE)
    return preview, preview.resize(size, Image.Resampling.BICUBIC, reducing_gap=1.5)


def quality(data):
    """PSNR (dB) against LANCZOS from the full decode: {who: {rendition: {"delivered", "before encoding"}}}."""
    full = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    reference = {}

    def against(image):
        if image.size not in reference:
            reference[image.size] = full.resize(image.size, Image.Resampling.LANCZOS)
        return psnr(image, reference[image.size])

    result = {}
    for who, make, pixels in (("today", today, today_pixels), ("pipeline", pipeline, pipeline_pixels)):
        renditions = make(data)
        preview_pixels, thumbnail_pixels = pixels(data)
        result[who] = {
            "preview": {"delivered": against(_decoded(renditions.preview)), "before encoding": against(preview_pixels)},
            "thumbnail": {
                "delivered": against(_decoded(renditions.thumbnail)),
                "before encoding": against(thumbnail_pixels),
            },
        }
    return result


def real_photo_quality(paths):
    """Delivered PSNR (dB) of the real photos' thumbnails, today's and the pipeline's: the means,
    and per photo the pipeline's lead over today (negative where it is worse)."""
    scores = {"today": [], "pipeline": []}
    for path in paths:
        data = path.read_bytes()
        full = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
        for who, make in (("today", today), ("pipeline", pipeline)):
            thumbnail = _decoded(make(data).thumbnail)
            scores[who].append(psnr(thumbnail, full.resize(thumbnail.size, Image.Resampling.LANCZOS)))
    means = {who: sum(values) / len(values) for who, values in scores.items()}
    return {**means, "lead": [ours - theirs for ours, theirs in zip(scores["pipeline"], scores["today"], strict=True)]}


# Memory and throughput


def _memory_child(variant, path):
    """Run in a fresh interpreter: print the peak-RSS growth (KiB) of one run of `variant`."""
    data = open(path, "rb").read()
    Image.open(io.BytesIO(data)).getexif()  # load Pillow's plugins and codecs before the baseline
    Image.new("RGB", (8, 8)).save(io.BytesIO(), "JPEG")
    if variant == "today":
        baseline_images()
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


def photos_per_second(path, processes, count, variant):
    """Photos per second through `variant` in `processes` worker processes, measured in a fresh
    interpreter: forking this one, whose libvips has started its threads, can leave a child
    waiting forever on a lock that a thread held at the fork."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.images_bench", "--throughput", variant, str(path), str(processes), str(count)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(out.stdout)["photos_per_second"]


def _throughput_child(variant, path, processes, count):
    with multiprocessing.get_context("fork").Pool(processes, _init_worker, (path,)) as pool:
        pool.map(_work, [variant] * processes)  # every worker warm
        start = time.perf_counter()
        pool.map(_work, [variant] * count, chunksize=1)
        print(json.dumps({"photos_per_second": count / (time.perf_counter() - start)}))


def run(quick=False):
    rounds = 2 if quick else 11
    dimensions = (1200, 800) if quick else (6000, 4000)
    path = camera_jpeg(*dimensions)
    data = path.read_bytes()
    with Image.open(path) as image:
        size, orientation = image.size, image.getexif().get(0x0112)
    variants = dict(VARIANTS)
    try:
        baseline_images()
    except NoBaseline:
        del variants["today"]
    icc_data = camera_jpeg(*dimensions, srgb_icc=True).read_bytes()
    times = timed_rounds(
        {
            **{name: (lambda fn=fn: fn(data)) for name, fn in variants.items()},
            "pipeline, sRGB ICC": lambda: pipeline(icc_data),
        },
        rounds,
    )
    cpu = {name: median([c for c, _ in values]) for name, values in times.items()}
    wall = {name: median([w for _, w in values]) for name, values in times.items()}
    best = {name: min(c for c, _ in values) for name, values in times.items()}  # least disturbed
    renditions = pipeline_every_size(data)
    memory = {name: peak_memory(name, path, repeats=1 if quick else 3) for name in variants}
    count = 4 if quick else 16
    throughput = {
        "pipeline_every_size_1_process": photos_per_second(path, 1, count // 2, "pipeline, every size"),
        "pipeline_every_size_2_processes": photos_per_second(path, 2, count, "pipeline, every size"),
    }
    if not quick:
        throughput["naive_2_processes"] = photos_per_second(path, 2, count // 2, "naive")
        if "today" in variants:
            throughput["today_2_processes"] = photos_per_second(path, 2, count, "today")

    scores, real = {}, {}
    if "today" in variants:
        scores = quality(data)
        photos = real_photos()[:2] if quick else real_photos()
        if photos:
            real = {"photos": len(photos), "thumbnail_delivered": real_photo_quality(photos)}

    ratio_decode = cpu["pipeline"] / cpu["decode"]
    ratio_naive = cpu["naive"] / cpu["pipeline"]
    ratio_memory = memory["naive"] / memory["pipeline"]
    no_worse = None
    if scores:
        no_worse = all(
            scores["pipeline"][rendition][measure] >= scores["today"][rendition][measure] - 1e-9
            for rendition in ("preview", "thumbnail")
            for measure in ("delivered", "before encoding")
        ) and all(lead >= -1e-9 for lead in real.get("thumbnail_delivered", {}).get("lead", []))
    result = {
        "baseline": describe(),
        "input": {
            "path": str(path),
            "bytes": len(data),
            "size": size,
            "exif_orientation": orientation,
            "upright_size": (renditions.width, renditions.height),
            "bytes_made": {
                "thumbnail": len(renditions.thumbnail),
                "preview": len(renditions.preview),
                **{name: len(made) for name, made in renditions.sizes.items()},
                "placeholder": len(renditions.placeholder),
            },
        },
        "rounds": rounds,
        "cpu_seconds": {name: [c for c, _ in values] for name, values in times.items()},
        "median_cpu_seconds": cpu,
        "median_wall_seconds": wall,
        "min_cpu_seconds": best,
        "peak_rss_growth_mib": memory,
        "photos_per_second": throughput,
        "psnr_db": scores,
        "real_photos": real,
        "ratios": {
            "pipeline_over_decode": ratio_decode,
            "pipeline_over_decode_best_of_rounds": best["pipeline"] / best["decode"],
            "pipeline_over_libvips_decode": cpu["pipeline"] / cpu["decode, libvips"],
            "today_over_decode": cpu["today"] / cpu["decode"] if "today" in cpu else None,
            "every_size_over_decode": cpu["pipeline, every size"] / cpu["decode"],
            "naive_over_pipeline": ratio_naive,
            "naive_memory_over_pipeline": ratio_memory,
        },
        "targets": {
            "pipeline <= 1.5x decode": ratio_decode <= 1.5,
            "quality no worse than today's": no_worse,
            "pipeline >= 2.5x faster than naive": ratio_naive >= 2.5,
            "pipeline memory <= 1/3 naive": ratio_memory >= 3,
        },
    }
    write_result("images", result)

    print(
        f"\n### 1. Image pipeline — {size[0]}x{size[1]} JPEG, {len(data) / 1e6:.1f} MB, EXIF orientation "
        f"{orientation} ({rounds} interleaved rounds, medians; baseline {describe()})\n"
    )
    print(
        table(
            ["variant", "CPU time", "÷ decode", "best of rounds (÷ decode)", "wall time", "peak RSS growth"],
            [
                [
                    name,
                    ms(cpu[name]),
                    f"{cpu[name] / cpu['decode']:.2f}×",
                    f"{ms(best[name])} ({best[name] / best['decode']:.2f}×)",
                    ms(wall[name]),
                    f"{memory[name]:.0f} MiB" if name in memory else "",
                ]
                for name in cpu
            ],
        )
    )
    print("\nBytes made from it: " + ", ".join(f"{k} {v:,}" for k, v in result["input"]["bytes_made"].items()))
    if scores:
        print("\nPSNR against LANCZOS from the full decode (dB, higher is better):\n")
        print(
            table(
                ["rendition", "measured", "today", "pipeline"],
                [
                    [
                        rendition,
                        measure,
                        f"{scores['today'][rendition][measure]:.2f}",
                        f"{scores['pipeline'][rendition][measure]:.2f}",
                    ]
                    for rendition in ("preview", "thumbnail")
                    for measure in ("delivered", "before encoding")
                ],
            )
        )
        if real:
            quality_real = real["thumbnail_delivered"]
            print(
                f"\nReal photos ({real['photos']}), thumbnails as delivered: today {quality_real['today']:.2f} dB, "
                f"pipeline {quality_real['pipeline']:.2f} dB; the pipeline's lead per photo "
                f"{min(quality_real['lead']):+.2f} to {max(quality_real['lead']):+.2f} dB"
            )
    print()
    rows = [
        [
            "pipeline (thumbnail + preview) ≤ 1.5× decoding at ½ scale",
            f"{ratio_decode:.2f}×",
            verdict(ratio_decode <= 1.5),
        ],
        [
            "  the same against libvips's own decode at ½ scale",
            f"{result['ratios']['pipeline_over_libvips_decode']:.2f}×",
            "(report)",
        ],
        [
            "  today, in this run",
            f"{cpu['today'] / cpu['decode']:.2f}×" if "today" in cpu else "no baseline",
            "(report)",
        ],
        [
            f"  every size (+ {'/'.join(str(edge) for edge, format in images.SIZES.values() if format == 'webp')} "
            "WebP, 1080 JPEG, placeholder)",
            f"{result['ratios']['every_size_over_decode']:.2f}×",
            "(report)",
        ],
        [
            "quality (PSNR) no worse than today's",
            "see above" if scores else "no baseline",
            verdict(no_worse) if scores else "",
        ],
        ["pipeline ≥ 2.5× faster than naive", f"{ratio_naive:.2f}×", verdict(ratio_naive >= 2.5)],
        ["peak memory ≤ ⅓ of naive", f"{ratio_memory:.1f}× less", verdict(ratio_memory >= 3)],
    ]
    for name, value in throughput.items():
        rows.append([f"photos/s, {name.replace('_', ' ')}", f"{value:.1f}", "(report)"])
    print(table(["target", "figure", "verdict"], rows))
    return result


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--memory":
        _memory_child(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 6 and sys.argv[1] == "--throughput":
        _throughput_child(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        run(quick="--quick" in sys.argv)
