"""Target 3: the gallery ZIP (GET /s/<share_id>/zip/, sharing/zips.py) of a gallery over 2 GB, on
S3 and on local disk, in the same run.

Each gallery is made directly: Photo rows inserted in bulk with the facts an upload records
(CRC-32, private metadata), and the same 10 MB camera JPEG stored under every key, put into S3
with boto3 or written into a second app server's photo folder. Then, per storage, alternating:
  streamed - the ZIP through gunicorn: throughput, worker RSS growth
  direct   - reading the same objects straight from storage in this process (boto3, or the
             files), 1 MiB at a time: the ceiling
The workers' CPU seconds per GB streamed (/proc/<pid>/stat) beside the direct reader's own say
what the app spends, apart from the loopback TCP and the client that share the machine's cores.
Both clients do the least they can, so that the figures are the server's and storage's: the ZIP
is read into one reused 1 MiB buffer (readinto), and so are local files (unbuffered readinto).
then the time to the archive's first byte (the median of 7 downloads dropped after it), and once,
for scale, the straightforward way (zipfile into a BytesIO) on 20 photos, in a
subprocess for its peak memory (bench/zip_in_memory.py). With --quick: 3 small photos.
"""

import http.client
import io
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django.core.files.storage import default_storage

from bench.data import create_user, make_gallery
from bench.measure import median, proc_status, table, verdict, write_result
from bench.photos import camera_jpeg
from bench.upload_bench import MemorySampler
from galleries.copies import facts_of
from testing.appserver import AppServer

CHUNK = 1024 * 1024
ROUNDS = 3
ARCHIVE_BYTES = 2_100_000_000


class LocalDisk:
    """The second app server, on local storage, and its photo folder."""

    def __init__(self, stack):
        self.folder = Path(stack.tmp) / "local-data"
        env = {**stack.env, "AWS_STORAGE_BUCKET_NAME": "", "VIEWPORT_DATA_DIR": str(self.folder)}
        self.app = AppServer(env, workers=stack.workers, threads=stack.threads, timeout=120)

    def connection(self, timeout):
        return http.client.HTTPConnection("127.0.0.1", self.app.port, timeout=timeout)

    def worker_memory(self):
        return {pid: proc_status(pid) for pid in self.app.worker_pids()}

    def worker_pids(self):
        return self.app.worker_pids()

    def put(self, keys, data):
        for key in keys:
            path = self.folder / "photos" / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

    def read_direct(self, keys):
        buffer, start, cpu, total = bytearray(CHUNK), time.perf_counter(), time.process_time(), 0
        for key in keys:
            with open(self.folder / "photos" / key, "rb", buffering=0) as file:
                while count := file.readinto(buffer):
                    total += count
        return _rate(total, time.perf_counter() - start) | _cpu_per_gb(time.process_time() - cpu, total)


class S3:
    def __init__(self, stack):
        self.stack = stack
        self.client = default_storage.connection.meta.client

    def connection(self, timeout):
        return self.stack.connection(timeout=timeout)

    def worker_memory(self):
        return self.stack.worker_memory()

    def worker_pids(self):
        return self.stack.app.worker_pids()

    def put(self, keys, data):
        def put(key):
            self.client.put_object(Bucket=default_storage.bucket_name, Key=key, Body=data, ContentType="image/jpeg")

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(put, keys))

    def read_direct(self, keys):
        start, total = time.perf_counter(), 0
        for key in keys:
            body = self.client.get_object(Bucket=default_storage.bucket_name, Key=key)["Body"]
            for chunk in body.iter_chunks(CHUNK):
                total += len(chunk)
            body.close()
        return _rate(total, time.perf_counter() - start)


def _rate(total, seconds):
    return {"bytes": total, "seconds": seconds, "mb_per_second": total / 1e6 / seconds}


def _cpu_per_gb(cpu_seconds, total):
    return {"cpu_seconds_per_gb": cpu_seconds / (total / 1e9)}


def cpu_seconds(pids):
    """User + system CPU seconds the processes have used, from /proc/<pid>/stat."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def populate(storage, user, count, data, name):
    gallery, link = make_gallery(user, count, name=name, file_size=len(data))
    gallery.photos.update(**facts_of(io.BytesIO(data)))  # as an upload records them
    keys = list(gallery.photos.values_list("object_key", flat=True))
    storage.put(keys, data)
    small = data[:20_000]
    for photo in gallery.photos.all()[:1]:  # renditions only need to exist for the page's cover
        storage.put([photo.thumbnail_object_key, photo.preview_object_key], small)
    return gallery, link, keys


def stream_zip(storage, link):
    connection = storage.connection(timeout=600)
    sampler = MemorySampler(storage)
    sampler.start()
    pids = storage.worker_pids()
    cpu = cpu_seconds(pids)
    start = time.perf_counter()
    try:
        connection.request("GET", f"/s/{link.pk}/zip/")
        response = connection.getresponse()
        first = response.read(1)
        first_byte_at = time.perf_counter() - start
        total, buffer = len(first), bytearray(CHUNK)
        while count := response.readinto(buffer):
            total += count
        seconds = time.perf_counter() - start
        server_cpu = cpu_seconds(pids) - cpu
        status, length = response.status, int(response.headers.get("Content-Length", -1))
    finally:
        connection.close()
        memory = sampler.stop()
    assert status == 200 and total == length, (status, total, length)
    return {
        "bytes": total,
        "first_byte_seconds": first_byte_at,
        "seconds": seconds,
        "mb_per_second": total / 1e6 / seconds,
        "max_memory_growth_mib": memory["max_growth_mib"],
        "server_cpu_seconds_per_gb": server_cpu / (total / 1e9),
    }


def first_byte(storage, link, times=7):
    """The median time to the first byte of the archive, over `times` downloads dropped after it
    (a second apart: the server notices a drop at its next send, and stops reading storage)."""
    seconds = []
    for _ in range(times):
        time.sleep(1)
        connection = storage.connection(timeout=60)
        start = time.perf_counter()
        connection.request("GET", f"/s/{link.pk}/zip/")
        response = connection.getresponse()
        response.read(1)
        seconds.append(time.perf_counter() - start)
        connection.close()
    return median(seconds)


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
    count = 3 if quick else ARCHIVE_BYTES // len(data) + 1
    local = LocalDisk(stack)
    storages = {"S3": S3(stack), "local disk": local}
    galleries = {}
    start = time.perf_counter()
    for name, storage in storages.items():
        galleries[name] = populate(storage, user, count, data, f"ZIP {count} photos on {name}")
    populate_seconds = time.perf_counter() - start
    small_count = 2 if quick else 20
    small_gallery, _, _ = populate(storages["S3"], user, small_count, data, f"ZIP in-memory {small_count} photos")
    small_links = {
        name: populate(storage, user, 2, data, f"Warm-up on {name}")[1] for name, storage in storages.items()
    }

    if not quick:  # fresh workers, for memory readings from a known state
        stack.restart_app()
    local.app.start()
    try:
        results = {name: {"streamed": [], "direct": []} for name in storages}
        for name, storage in storages.items():  # warm up every worker: imports, clients, page cache
            for _ in range(2 * stack.workers):
                stream_zip(storage, small_links[name])
            storage.read_direct(galleries[name][2][:3])
        for _ in range(1 if quick else ROUNDS):
            for name, storage in storages.items():
                _, link, keys = galleries[name]
                results[name]["streamed"].append(stream_zip(storage, link))
                results[name]["direct"].append(storage.read_direct(keys))
        first_bytes = {
            name: first_byte(storage, galleries[name][1], times=2 if quick else 7) for name, storage in storages.items()
        }
    finally:
        local.app.stop()
    memory_way = in_memory(small_gallery.pk)

    summary = {}
    for name, runs in results.items():
        pairs = zip(runs["streamed"], runs["direct"], strict=True)
        ratios = [streamed["mb_per_second"] / direct["mb_per_second"] for streamed, direct in pairs]
        summary[name] = {
            "streamed_mb_per_second": median([r["mb_per_second"] for r in runs["streamed"]]),
            "direct_mb_per_second": median([r["mb_per_second"] for r in runs["direct"]]),
            "ratio": median(ratios),
            "ratios_per_round": ratios,
            "first_byte_seconds": first_bytes[name],
            "first_byte_seconds_while_measuring_throughput": [r["first_byte_seconds"] for r in runs["streamed"]],
            "max_memory_growth_mib": max(r["max_memory_growth_mib"] for r in runs["streamed"]),
            "server_cpu_seconds_per_gb": median([r["server_cpu_seconds_per_gb"] for r in runs["streamed"]]),
            "direct_cpu_seconds_per_gb": median([r.get("cpu_seconds_per_gb", 0) for r in runs["direct"]]),
            "bytes": runs["streamed"][0]["bytes"],
        }
    targets = {
        f"{name}: {target}": ok
        for name, s in summary.items()
        for target, ok in {
            "memory growth < 50 MB": s["max_memory_growth_mib"] * 1.048576 < 50,
            "first byte < 200 ms": s["first_byte_seconds"] < 0.2,
            "throughput >= 80% of direct reads": s["ratio"] >= 0.8,
            "archive >= 2 GB": s["bytes"] >= 2e9,
        }.items()
    }
    result = {
        "photos": count,
        "object_bytes": len(data),
        "populate_seconds": populate_seconds,
        "rounds": results,
        "summary": summary,
        "in_memory_small": memory_way,
        "small_photos": small_count,
        "targets": targets,
    }
    write_result("zip", result)

    gb = summary["S3"]["bytes"] / 1e9
    print(f"\n### 3. ZIP — {count} photos, {gb:.2f} GB archive, one client, gunicorn 2 gthread workers\n")
    rows = []
    for name, s in summary.items():
        rows.append(
            [
                name,
                f"{s['streamed_mb_per_second']:.0f}",
                f"{s['direct_mb_per_second']:.0f}",
                f"{s['ratio']:.2f}× ({', '.join(f'{r:.2f}' for r in s['ratios_per_round'])})",
                f"{s['first_byte_seconds'] * 1000:.0f} ms",
                f"{s['max_memory_growth_mib']:.0f} MiB",
                f"{s['server_cpu_seconds_per_gb']:.2f} s"
                + (f" (direct read: {s['direct_cpu_seconds_per_gb']:.2f} s)" if s["direct_cpu_seconds_per_gb"] else ""),
            ]
        )
    print(
        table(
            [
                "storage",
                "ZIP MB/s",
                "direct MB/s",
                "ratio (median; each round)",
                "first byte",
                "worker RSS growth",
                "worker CPU per GB",
            ],
            rows,
        )
    )
    print(
        f"\nIn memory (zipfile + BytesIO), {small_count} photos on S3: "
        f"{memory_way['bytes'] / 1e6:.0f} MB, first byte after {memory_way['first_byte_seconds'] * 1000:.0f} ms "
        f"(all built first), {memory_way['mb_per_second']:.0f} MB/s, {memory_way['peak_growth_mib']:.0f} MiB peak.\n"
    )
    print(table(["target", "verdict"], [[target, verdict(ok)] for target, ok in targets.items()]))
    return result
