"""Issue 28: what watermarked renditions cost, against the clean ones (galleries.images).

A photo's clean renditions are made at upload from its original (make_renditions); its
watermarked ones from its clean preview, once per watermark version (watermarked_renditions,
galleries/watermarks.py). Compared in the same run and interleaved, on a 24 MP camera JPEG and on
the shared real photos:

  clean                 - make_renditions(original): every clean rendition (thumbnail, preview,
                          the WebP and JPEG sizes for srcset, placeholder)
  watermarked, <how>    - watermarked_renditions(preview, mark, names): the same renditions, for
                          a text mark in each position and an image mark tiled (the dearest)
  one thumbnail         - watermarked_renditions(preview, mark, ["thumbnail.jpg"]): what a request
                          for a rendition not made yet waits for

Target: making the watermarked renditions costs at most 15% more than making the clean ones.
Measured as this process's CPU time (libvips runs one thread here, galleries.images), which a
busy shared machine disturbs far less than wall-clock time.
A gallery of 2,000 photos switched on: what the worker takes to make them all on 2 cores, and
what a request waits for meanwhile (one rendition, made on demand).
"""

import io
import time

from PIL import Image

from bench.measure import median, ms, table, verdict, write_result
from bench.photos import camera_jpeg, real_photos
from galleries import images
from testing.photos import image_bytes

MAX_PIXELS = 120_000_000
FONT = "static/fonts/montserrat/montserrat-latin-wght-normal.woff2"
GALLERY = 2000
CORES = 2


def marks():
    logo = Image.new("RGBA", (900, 300), (0, 0, 0, 0))
    logo.paste((255, 255, 255, 230), (30, 30, 870, 270))
    buffer = io.BytesIO()
    logo.save(buffer, "PNG")
    png = images.make_watermark_image(io.BytesIO(buffer.getvalue()))
    text = {"text": "Lena Hart Photography", "font_file": FONT, "opacity": 50, "scale": 30}
    made = {f"text, {position}": images.Watermark(position=position, **text) for position in images.WATERMARK_POSITIONS}
    made["image, tiled"] = images.Watermark(image=png, position="tiled", opacity=50, scale=30)
    return made


def cpu_times(variants, rounds):
    """{name: [CPU seconds, ...]}, the variants interleaved (A B C A B C ...) after a warm-up."""
    for fn in variants.values():
        fn()
    times = {name: [] for name in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            start = time.process_time()
            fn()
            times[name].append(time.process_time() - start)
    return times


def run(quick=False):
    rounds = 2 if quick else 7
    dimensions = (1200, 800) if quick else (6000, 4000)
    originals = {"24 MP camera JPEG": camera_jpeg(*dimensions).read_bytes()}
    for path in real_photos()[: 1 if quick else 3]:
        originals[path.name] = path.read_bytes()
    if quick and len(originals) == 1:
        originals["small"] = image_bytes(800, 600)
    rows, results = [], {}
    for label, original in originals.items():
        clean = images.make_renditions(io.BytesIO(original), MAX_PIXELS)
        preview, names = clean.preview, ["thumbnail.jpg", "preview.jpg", *clean.sizes]  # what the photo has
        variants = {"clean": lambda original=original: images.make_renditions(io.BytesIO(original), MAX_PIXELS)}
        for name, mark in marks().items():
            variants[f"watermarked, {name}"] = lambda mark=mark, preview=preview, names=names: (
                images.watermarked_renditions(preview, mark, names)
            )
        tiled = marks()["text, tiled"]
        variants["one thumbnail, tiled"] = lambda tiled=tiled, preview=preview: images.watermarked_renditions(
            preview, tiled, ["thumbnail.jpg"]
        )
        times = cpu_times(variants, rounds)
        medians = {name: median(values) for name, values in times.items()}
        dearest = max(value for name, value in medians.items() if name.startswith("watermarked"))
        results[label] = {
            "median_seconds": medians,
            "dearest_over_clean": dearest / medians["clean"],
            "gallery_by_worker_seconds": GALLERY * dearest / CORES,
        }
        for name, value in medians.items():
            rows.append([label, name, ms(value), f"{value / medians['clean']:.2f}×"])
    worst = max(result["dearest_over_clean"] for result in results.values())
    write_result(
        "watermark",
        {"rounds": rounds, "photos": results, "targets": {"watermarked <= 1.15x clean": worst <= 1.15}},
    )
    print(f"\n### Watermarks — every rendition, watermarked vs clean ({rounds} interleaved rounds, medians)\n")
    print(table(["photo", "variant", "median CPU time", "÷ clean"], rows))
    camera = results["24 MP camera JPEG"]
    print(
        f"\nWatermarked at most {worst:.2f}× clean (target ≤ 1.15×: {verdict(worst <= 1.15)}). A {GALLERY}-photo "
        f"gallery switched on: ~{camera['gallery_by_worker_seconds'] / 60:.0f} min for the worker on {CORES} cores "
        f"(24 MP photos); meanwhile a request for a rendition not made yet waits "
        f"~{ms(camera['median_seconds']['one thumbnail, tiled'])} for it."
    )
