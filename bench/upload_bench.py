"""Target 2: uploads. A batch of 20 photos of ~10 MB each in one POST to the upload endpoint
(multipart field `photos`, Accept: application/json), through gunicorn into the S3 server.

Then the same photos as the page's uploader sends them (issue 26), in one run, interleaved:
through the app (one POST a photo: the bytes pass through gunicorn, renditions made in the
request) against resumable uploads (ask, PUT the parts straight to S3 at their signed URLs,
complete: the app joins them and reads the file back once for its SHA-256; the renditions are
the task worker's, later), and against plain PUTs to S3 (the ceiling).

Memory must not grow with file size: the same 200 MB is sent again as 5 files of ~40 MB (the
same JPEG followed by 30 MB of padding after its end-of-image marker, so the pixel work per file
is unchanged and only the bytes grow). The gunicorn workers' RSS is sampled every 20 ms.
With --quick: 4 small photos, then 1 padded to 4 times the size.
"""

import hashlib
import http.client
import json
import threading
import time
import urllib.parse
import uuid

from django.core.files.storage import default_storage

from bench.data import create_user, login, make_gallery
from bench.measure import median, table, verdict, write_result
from bench.photos import CACHE, camera_jpeg
from galleries.models import Photo

CHUNK = 1024 * 1024


def padded_copy(source, size):
    path = CACHE / f"{source.stem}-padded-{size // 1_000_000}MB.jpg"
    if not path.exists() or path.stat().st_size != size:
        data = source.read_bytes()
        with open(path, "wb") as out:
            out.write(data)
            out.write(b"\0" * (size - len(data)))
    return path


def distinct_copies(source, count, tag):
    """`count` copies of `source` that differ in bytes after the JPEG's end (the tag and a number),
    so that none is skipped as a duplicate of another (a gallery keeps one photo of the same bytes)."""
    data = source.read_bytes()
    paths = [CACHE / f"{source.stem}-{tag}-{i}.jpg" for i in range(count)]
    for i, path in enumerate(paths):
        path.write_bytes(data + tag.encode() + i.to_bytes(2, "big"))
    return paths


class Multipart:
    """A multipart/form-data body streamed from files, with its exact length known up front."""

    def __init__(self, files, field="photos"):
        self.boundary = f"----viewport-bench-{uuid.uuid4().hex}"
        self.parts = []
        for name, path in files:
            head = (
                f'--{self.boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
                f"Content-Type: image/jpeg\r\n\r\n"
            ).encode()
            self.parts.append((head, path))
        self.tail = f"--{self.boundary}--\r\n".encode()

    @property
    def content_type(self):
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self):
        return sum(len(head) + path.stat().st_size + 2 for head, path in self.parts) + len(self.tail)

    def __iter__(self):
        for head, path in self.parts:
            yield head
            with open(path, "rb") as file:
                while chunk := file.read(CHUNK):
                    yield chunk
            yield b"\r\n"
        yield self.tail


class MemorySampler(threading.Thread):
    def __init__(self, stack, interval=0.02):
        super().__init__(daemon=True)
        self.stack, self.interval = stack, interval
        self.before = {pid: v.get("VmRSS", 0) for pid, v in stack.worker_memory().items()}
        self.peak = dict(self.before)
        self.running = True

    def run(self):
        while self.running:
            for pid, values in self.stack.worker_memory().items():
                self.peak[pid] = max(self.peak.get(pid, 0), values.get("VmRSS", 0))
            time.sleep(self.interval)

    def stop(self):
        self.running = False
        self.join()
        growth = {pid: self.peak[pid] - self.before.get(pid, self.peak[pid]) for pid in self.peak}
        return {"before_kib": self.before, "peak_kib": self.peak, "max_growth_mib": max(growth.values()) / 1024}


def upload(stack, cookies, gallery, files):
    body = Multipart(files)
    connection = stack.connection(timeout=600)
    sampler = MemorySampler(stack)
    sampler.start()
    start = time.perf_counter()
    try:
        connection.putrequest("POST", f"/galleries/{gallery.pk}/photos/")
        for header, value in {
            "Content-Type": body.content_type,
            "Content-Length": str(len(body)),
            "Accept": "application/json",
            "X-CSRFToken": cookies["csrftoken"],
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
        }.items():
            connection.putheader(header, value)
        connection.endheaders()
        for chunk in body:
            connection.send(chunk)
        response = connection.getresponse()
        payload = response.read()
        seconds = time.perf_counter() - start
    finally:
        connection.close()
        memory = sampler.stop()
    result = json.loads(payload) if payload.startswith(b"{") else {"raw": payload[:500].decode(errors="replace")}
    if response.status != 200 or result.get("errors"):
        raise RuntimeError(f"upload failed: {response.status} {str(result)[:800]}")
    return {
        "status": response.status,
        "seconds": seconds,
        "bytes": len(body),
        "files": len(files),
        "stored": len(result["photos"]),
        "memory": memory,
    }


def run(stack, quick=False):
    user = create_user("uploads@example.com")
    source = camera_jpeg(1200, 800) if quick else camera_jpeg()
    big = padded_copy(source, 4 * source.stat().st_size)
    count = 4 if quick else 20
    batches = {
        f"{count} × {source.stat().st_size / 1e6:.1f} MB": [
            (f"IMG_{i:04d}.jpg", path) for i, path in enumerate(distinct_copies(source, count, "batch"))
        ],
        f"{count // 4} × {big.stat().st_size / 1e6:.1f} MB": [
            (f"BIG_{i:04d}.jpg", path) for i, path in enumerate(distinct_copies(big, count // 4, "batch"))
        ],
    }
    if not quick:  # fresh workers, for memory readings from a known state
        stack.restart_app()
    cookies, login_method = login(stack, user)
    warm_gallery, _ = make_gallery(user, 0, share=False)
    for _ in range(1 if quick else 2):  # both workers' imports
        upload(stack, cookies, warm_gallery, [("warm-0.jpg", source), ("warm-1.jpg", source)])
    results = {}
    for name, files in batches.items():
        runs = []
        for number in range(1 if quick else 2):  # a gallery each: the same files again would be skipped
            gallery, _ = make_gallery(user, 0, name=f"{name} ({number + 1})", share=False)
            runs.append(upload(stack, cookies, gallery, files))
            assert Photo.objects.filter(gallery=gallery).count() == len(files)
        best = min(runs, key=lambda r: r["seconds"])
        results[name] = {
            **best,
            "runs_seconds": [r["seconds"] for r in runs],
            "median_seconds": median([r["seconds"] for r in runs]),
            "max_memory_growth_mib": max(r["memory"]["max_growth_mib"] for r in runs),
        }
    small, large = list(results.values())
    grows = large["max_memory_growth_mib"] - small["max_memory_growth_mib"]
    result = {
        "batches": results,
        "login": login_method,
        "memory_growth_difference_mib": grows,
        "memory_flat": grows < 25,
    }
    paths_count = 2 if quick else 10
    result["paths"] = compare_paths(stack, cookies, user, source, paths_count, 1 if quick else 3)
    result["paths_files"] = f"{paths_count} × {source.stat().st_size / 1e6:.1f} MB"
    write_result("uploads", result)

    print(
        f"\n### 2. Uploads — one POST per batch, through gunicorn (2 gthread workers) into SeaweedFS "
        f"(login: {login_method})\n"
    )
    print(
        table(
            ["batch", "total (median)", "MB/s", "photos/s", "worker RSS growth (peak)"],
            [
                [
                    name,
                    f"{r['median_seconds']:.1f} s",
                    f"{r['bytes'] / 1e6 / r['median_seconds']:.1f}",
                    f"{r['files'] / r['median_seconds']:.1f}",
                    f"{r['max_memory_growth_mib']:.0f} MiB",
                ]
                for name, r in results.items()
            ],
        )
    )
    print()
    print(
        table(
            ["target", "figure", "verdict"],
            [
                [
                    "server memory does not grow with file size (4× bigger files)",
                    f"{small['max_memory_growth_mib']:.0f} → {large['max_memory_growth_mib']:.0f} MiB",
                    verdict(result["memory_flat"]),
                ],
            ],
        )
    )
    paths = result["paths"]
    print(f"\n### 2b. The same {result['paths_files']} photos one by one, three ways (median of rounds)\n")
    print(
        table(
            ["path", "MB/s", "of plain S3 PUTs"],
            [
                [label, f"{paths[key]['mb_per_s']:.1f}", f"{paths[key]['mb_per_s'] / paths['s3']['mb_per_s']:.2f}×"]
                for key, label in [
                    ("app", "through the app (POST a photo; renditions in the request)"),
                    ("resumable", "resumable: parts straight to S3, complete checks SHA-256 (renditions later)"),
                    ("s3", "plain S3 PUTs (boto3, the ceiling)"),
                ]
            ],
        )
    )
    return result


def resumable_upload(stack, cookies, gallery, name, data):
    """Ask, PUT the missing parts to their URLs (S3's), complete: as static/js/upload.js does."""
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": cookies["csrftoken"],
    }
    asked = {"name": name, "size": len(data), "type": "image/jpeg", "sha256": hashlib.sha256(data).hexdigest()}
    status, _, body = stack.request(
        "POST", f"/galleries/{gallery.pk}/uploads/", json.dumps(asked), headers=headers, cookies=cookies
    )
    answer = json.loads(body)
    if status != 201:
        raise RuntimeError(f"start failed: {status} {answer}")
    for part in answer["parts"]:
        start = (part["number"] - 1) * answer["part_size"]
        status = put(part["url"], data[start : start + answer["part_size"]])
        if status != 200:
            raise RuntimeError(f"part {part['number']} failed: {status}")
    complete = f"/galleries/{gallery.pk}/uploads/{answer['upload_id']}/complete/"
    status, _, body = stack.request("POST", complete, headers=headers, cookies=cookies)
    if status != 202:
        raise RuntimeError(f"complete failed: {status} {body[:300]}")


def put(url, body):
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    try:
        connection.request("PUT", f"{parts.path}?{parts.query}", body=body)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def compare_paths(stack, cookies, user, source, count, rounds):
    """MB/s of the same photos through the app, resumable straight to S3, and plain S3 PUTs."""
    data = source.read_bytes()
    app_copies = distinct_copies(source, count, "paths")
    total = len(data) * count
    client = default_storage.connection.meta.client
    seconds = {"app": [], "resumable": [], "s3": []}

    def send_all(way, gallery, round_number):
        for i in range(count):
            if way == "app":
                upload(stack, cookies, gallery, [(f"APP_{round_number}_{i}.jpg", app_copies[i])])
            elif way == "resumable":  # each file differs by a last byte: the same bytes would be skipped
                resumable_upload(stack, cookies, gallery, f"RES_{i}.jpg", data + bytes([round_number, i]))
            else:
                key = f"bench-direct/{round_number}/{i}"
                client.put_object(Bucket=default_storage.bucket_name, Key=key, Body=data)

    for round_number in range(rounds):
        gallery, _ = make_gallery(user, 0, name=f"paths {round_number}", share=False)
        order = list(seconds) if round_number % 2 == 0 else list(reversed(seconds))
        for way in order:
            start = time.perf_counter()
            send_all(way, gallery, round_number)
            seconds[way].append(time.perf_counter() - start)
    return {
        name: {"median_seconds": median(runs), "mb_per_s": total / 1e6 / median(runs)} for name, runs in seconds.items()
    }
