"""Target 3: the gallery ZIP (GET /s/<share_id>/zip/, sharing/zips.py) of a gallery over 2 GB.

The gallery is made directly: Photo rows inserted in bulk and 10 MB objects put into S3 with
boto3 (file_size equals the object size). We then measure, in the same run:
  streamed  - the ZIP through gunicorn: time to first byte, throughput, worker RSS growth
  direct    - reading the same objects straight from S3 (boto3, 1 MiB chunks): the ceiling
  in-memory - the straightforward way, zipfile into a BytesIO, on a smaller gallery (building 2 GB
              in RAM would be silly): in a subprocess, for its peak memory (bench/zip_in_memory.py)
With --quick: 3 small photos, and 2 for the in-memory way.
"""

import io
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from django.core.files.storage import default_storage

from bench.data import create_user, make_gallery
from bench.measure import table, verdict, write_result
from bench.photos import camera_jpeg
from bench.upload_bench import MemorySampler
from galleries.copies import facts_of

CHUNK = 1024 * 1024


def populate(user, count, data, name):
    gallery, link = make_gallery(user, count, name=name, file_size=len(data))
    gallery.photos.update(**facts_of(io.BytesIO(data)))  # as an upload records them
    client = default_storage.connection.meta.client
    keys = list(gallery.photos.values_list("object_key", flat=True))
    small = data[:20_000]

    def put(key):
        client.put_object(Bucket=default_storage.bucket_name, Key=key, Body=data, ContentType="image/jpeg")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(put, keys))
    for photo in gallery.photos.all()[:1]:  # renditions only need to exist for the page's cover
        for key in (photo.thumbnail_object_key, photo.preview_object_key):
            client.put_object(Bucket=default_storage.bucket_name, Key=key, Body=small)
    return gallery, link, keys


def stream_zip(stack, link):
    connection = stack.connection(timeout=600)
    sampler = MemorySampler(stack)
    sampler.start()
    start = time.perf_counter()
    try:
        connection.request("GET", f"/s/{link.pk}/zip/")
        response = connection.getresponse()
        headers_at = time.perf_counter() - start
        first = response.read(1)
        first_byte_at = time.perf_counter() - start
        total = len(first)
        while chunk := response.read(CHUNK):
            total += len(chunk)
        seconds = time.perf_counter() - start
        status, length = response.status, int(response.headers.get("Content-Length", -1))
    finally:
        connection.close()
        memory = sampler.stop()
    assert status == 200, status
    return {
        "status": status,
        "bytes": total,
        "content_length": length,
        "headers_seconds": headers_at,
        "first_byte_seconds": first_byte_at,
        "seconds": seconds,
        "mb_per_second": total / 1e6 / seconds,
        "memory": memory,
        "max_memory_growth_mib": memory["max_growth_mib"],
    }


def read_direct(keys):
    client = default_storage.connection.meta.client
    start = time.perf_counter()
    total = 0
    for key in keys:
        body = client.get_object(Bucket=default_storage.bucket_name, Key=key)["Body"]
        for chunk in body.iter_chunks(CHUNK):
            total += len(chunk)
        body.close()
    seconds = time.perf_counter() - start
    return {"bytes": total, "seconds": seconds, "mb_per_second": total / 1e6 / seconds}


def in_memory(gallery_id):
    out = subprocess.run(
        [sys.executable, "-m", "bench.zip_in_memory", str(gallery_id)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(stack, quick=False):
    user = create_user("zip@example.com")
    data = (camera_jpeg(1200, 800) if quick else camera_jpeg()).read_bytes()
    count = 3 if quick else 2_100_000_000 // len(data) + 1
    start = time.perf_counter()
    gallery, link, keys = populate(user, count, data, f"ZIP {count} photos")
    populate_seconds = time.perf_counter() - start
    small_count = 2 if quick else 20
    small_gallery, _, _ = populate(user, small_count, data, f"ZIP in-memory {small_count} photos")

    if not quick:  # fresh workers, for memory readings from a known state
        stack.restart_app()
    stack.request("GET", f"/s/{link.pk}/")  # warm the worker (imports, connections)
    small_link = small_gallery.share_links.first()
    stream_zip(stack, small_link)
    stream_zip(stack, small_link)
    read_direct(keys[:3])
    streamed = stream_zip(stack, link)
    direct = read_direct(keys)
    streamed_small = stream_zip(stack, small_link)
    memory_way = in_memory(small_gallery.pk)

    ratio = streamed["mb_per_second"] / direct["mb_per_second"]
    targets = {
        "memory growth < 50 MB": streamed["max_memory_growth_mib"] * 1.048576 < 50,
        "first byte < 200 ms": streamed["first_byte_seconds"] < 0.2,
        "throughput >= 80% of direct reads": ratio >= 0.8,
        "gallery >= 2 GB": streamed["bytes"] >= 2e9,
    }
    result = {
        "photos": count,
        "object_bytes": len(data),
        "populate_seconds": populate_seconds,
        "streamed": streamed,
        "direct": direct,
        "streamed_small": streamed_small,
        "in_memory_small": memory_way,
        "small_photos": small_count,
        "throughput_ratio": ratio,
        "targets": targets,
    }
    write_result("zip", result)

    gb = streamed["bytes"] / 1e9
    print(f"\n### 3. ZIP — {count} photos, {gb:.2f} GB archive, one client, gunicorn 2 gthread workers\n")
    print(
        table(
            ["variant", "bytes", "first byte", "MB/s", "app memory growth"],
            [
                [
                    f"streamed ZIP, {count} photos",
                    f"{gb:.2f} GB",
                    f"{streamed['first_byte_seconds'] * 1000:.0f} ms",
                    f"{streamed['mb_per_second']:.0f}",
                    f"{streamed['max_memory_growth_mib']:.0f} MiB (worker RSS)",
                ],
                [
                    f"direct S3 reads, same {count} objects",
                    f"{direct['bytes'] / 1e9:.2f} GB",
                    "",
                    f"{direct['mb_per_second']:.0f}",
                    "",
                ],
                [
                    f"streamed ZIP, {small_count} photos",
                    f"{streamed_small['bytes'] / 1e6:.0f} MB",
                    f"{streamed_small['first_byte_seconds'] * 1000:.0f} ms",
                    f"{streamed_small['mb_per_second']:.0f}",
                    f"{streamed_small['max_memory_growth_mib']:.0f} MiB (worker RSS)",
                ],
                [
                    f"in memory (zipfile + BytesIO), {small_count} photos",
                    f"{memory_way['bytes'] / 1e6:.0f} MB",
                    f"{memory_way['first_byte_seconds'] * 1000:.0f} ms (all built first)",
                    f"{memory_way['mb_per_second']:.0f}",
                    f"{memory_way['peak_growth_mib']:.0f} MiB (process peak)",
                ],
            ],
        )
    )
    print()
    print(
        table(
            ["target", "figure", "verdict"],
            [
                ["gallery ≥ 2 GB", f"{gb:.2f} GB", verdict(targets["gallery >= 2 GB"])],
                [
                    "app memory growth < 50 MB",
                    f"{streamed['max_memory_growth_mib'] * 1.048576:.0f} MB",
                    verdict(targets["memory growth < 50 MB"]),
                ],
                [
                    "first byte < 200 ms",
                    f"{streamed['first_byte_seconds'] * 1000:.0f} ms",
                    verdict(targets["first byte < 200 ms"]),
                ],
                [
                    "throughput ≥ 80% of direct S3 reads",
                    f"{ratio:.0%}",
                    verdict(targets["throughput >= 80% of direct reads"]),
                ],
            ],
        )
    )
    return result
