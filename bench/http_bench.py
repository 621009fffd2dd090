"""Target 5 (and 4's load figure): HTTP under load. gunicorn (project config: 2 gthread workers ×
8 threads) on 2 cores serving the public page of a 100-photo gallery, single-photo downloads (a
redirect to a signed S3 URL: the bytes come from storage, not from us), thumbnails and a WebP
size, under wrk for a fixed time; the public page also on today's code (bench/baseline.py), in
the same run, for the ratio. Then the page is asked for a known number of times, 16 at once,
and its view counter must have grown by exactly that many. Only ever 127.0.0.1. Also checks
that static files carry far-future cache headers and are compressed (Brotli or gzip).
With --quick: 10 photos, half a second per endpoint.
"""

import math
import re
import shutil
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from bench.baseline import describe
from bench.data import create_user, make_gallery
from bench.measure import median, table, verdict, write_result
from bench.photos import camera_jpeg
from galleries.models import Photo
from sharing.models import ShareLink

CONNECTIONS = 16


def wrk(url, seconds, connections=CONNECTIONS):
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{math.ceil(seconds)}s", "--latency", "--timeout", "10s", url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    ).stdout

    def number(pattern, default=0.0):
        match = re.search(pattern, out)
        return match.group(1) if match else default

    def latency(label):
        match = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not match:
            return None
        value, unit = float(match.group(1)), match.group(2)
        return value / {"us": 1e6, "ms": 1e3, "s": 1}[unit]

    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    errors += int(number(r"Non-2xx or 3xx responses: (\d+)", 0))
    return {
        "tool": "wrk",
        "requests": int(number(r"(\d+) requests in", 0)),
        "requests_per_second": float(number(r"Requests/sec:\s+([\d.]+)")),
        "p50": latency("50%"),
        "p99": latency("99%"),
        "errors": errors,
        "raw": out,
    }


def python_load(url, seconds, connections=CONNECTIONS):
    """A small keep-alive load generator, for machines without wrk."""
    path = url.split("/", 3)[3]
    host, port = url.split("/")[2].split(":")
    latencies, errors, lock = [], [0], threading.Lock()
    deadline = time.monotonic() + seconds

    def worker():
        connection = HTTPConnection(host, int(port), timeout=10)
        mine = []
        while time.monotonic() < deadline:
            start = time.perf_counter()
            try:
                connection.request("GET", "/" + path)
                response = connection.getresponse()
                response.read()
                if response.status >= 400:
                    errors[0] += 1
            except OSError:
                errors[0] += 1
                connection.close()
                connection = HTTPConnection(host, int(port), timeout=10)
                continue
            mine.append(time.perf_counter() - start)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "tool": "python",
        "requests": len(latencies),
        "requests_per_second": len(latencies) / elapsed,
        "p50": median(latencies),
        "p99": latencies[int(len(latencies) * 0.99)],
        "errors": errors[0],
    }


def static_checks(stack, link):
    """Cache headers and compression of the public page's stylesheets and scripts."""
    status, _, body = stack.request("GET", f"/s/{link.pk}/")
    assets = re.findall(rb'(?:href|src)="(/static/[^"]+\.(?:css|js))"', body)
    checks = []
    for asset in dict.fromkeys(a.decode() for a in assets):
        _, plain_headers, plain = stack.request("GET", asset)
        _, headers, compressed = stack.request("GET", asset, headers={"Accept-Encoding": "br, gzip"})
        max_age = re.search(r"max-age=(\d+)", headers.get("Cache-Control", ""))
        checks.append(
            {
                "url": asset,
                "bytes": len(plain),
                "compressed_bytes": len(compressed),
                "content_encoding": headers.get("Content-Encoding", ""),
                "cache_control": headers.get("Cache-Control", ""),
                "far_future": bool(max_age and int(max_age.group(1)) >= 365 * 24 * 3600),
                "immutable": "immutable" in headers.get("Cache-Control", ""),
                "hashed_name": bool(re.search(r"\.[0-9a-f]{12}\.(css|js)$", asset)),
            }
        )
    return checks


def counted_exactly(stack, link, requests=800, connections=CONNECTIONS):
    """Ask for the public page `requests` times, `connections` at once: (views counted, asked)."""
    before = ShareLink.objects.get(pk=link.pk).views

    def get(_):
        status, _, _ = stack.request("GET", f"/s/{link.pk}/")
        return status

    with ThreadPoolExecutor(connections) as pool:
        statuses = list(pool.map(get, range(requests)))
    assert all(status == 200 for status in statuses), set(statuses)
    return ShareLink.objects.get(pk=link.pk).views - before, requests


def run(stack, quick=False):
    seconds = 0.5 if quick else 10
    user = create_user("http@example.com")
    count = 10 if quick else 100
    gallery, link = make_gallery(user, count, name=f"HTTP {count} photos")
    photo = Photo.objects.filter(gallery=gallery).in_display_order().first()
    default_storage.save(photo.thumbnail_object_key, ContentFile(camera_jpeg(640, 427).read_bytes()))
    size_key = photo.size_key("320.webp")
    default_storage.save(size_key, ContentFile(b"RIFF"))  # served as stored; the bytes do not matter here
    Photo.objects.filter(pk=photo.pk).update(size_keys={"320.webp": size_key})
    base = stack.base_url
    targets = {
        f"public page, {count} photos": f"{base}/s/{link.pk}/",
        "single download (302 to signed S3 URL)": f"{base}/s/{link.pk}/photos/{photo.pk}/download/",
        "thumbnail (read from S3 by the app)": f"{base}/s/{link.pk}/photos/{photo.pk}/thumbnail/",
        "WebP size (read from S3 by the app)": f"{base}/s/{link.pk}/photos/{photo.pk}/320.webp",
    }
    baseline = stack.baseline()
    if baseline:
        targets[f"public page, {count} photos, today's code"] = f"{baseline.url}/s/{link.pk}/"
    for url in targets.values():  # every answer must be what a browser expects before we hammer it
        status = _status(url)
        assert status in (200, 302), (url, status)
    load = wrk if shutil.which("wrk") else python_load
    results = {}
    for name, url in targets.items():
        results[name] = load(url, seconds)
        time.sleep(0.1 if quick else 1)
    # On a link of its own: the load above may still be finishing its last requests on the other.
    counted, asked = counted_exactly(stack, ShareLink.objects.create(gallery=gallery), requests=80 if quick else 800)
    statics = static_checks(stack, link)
    page = results[f"public page, {count} photos"]["requests_per_second"]
    today = results.get(f"public page, {count} photos, today's code", {}).get("requests_per_second")
    result = {
        "baseline": describe(),
        "seconds_each": seconds,
        "connections": CONNECTIONS,
        "load": results,
        "public_page_over_today": page / today if today else None,
        "views_counted": counted,
        "views_asked": asked,
        "static": statics,
        "workers": f"{stack.workers} gthread × {stack.threads} threads",
        "targets": {
            "public page >= 10x today's requests/s": bool(today) and page >= 10 * today,
            "every view counted": counted == asked,
        },
    }
    write_result("http", result)

    print(
        f"\n### 5. HTTP — {load.__name__}, {CONNECTIONS} connections, {seconds} s each, gunicorn "
        f"{result['workers']} on 2 cores (today = {describe()})\n"
    )
    print(
        table(
            ["endpoint", "requests/s", "p50", "p99", "errors"],
            [
                [
                    name,
                    f"{r['requests_per_second']:.0f}",
                    f"{r['p50'] * 1000:.1f} ms",
                    f"{r['p99'] * 1000:.1f} ms",
                    f"{r['errors']} of {r['requests']}",
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
                    f"public page, {count} photos: ≥ 10× today's requests/s",
                    f"{page:.0f}/s vs {today:.0f}/s: {page / today:.1f}×" if today else f"{page:.0f}/s, no baseline",
                    verdict(result["targets"]["public page >= 10x today's requests/s"]),
                ],
                [
                    f"views counted exactly ({asked} requests, {CONNECTIONS} at once)",
                    f"{counted} counted",
                    verdict(counted == asked),
                ],
            ],
        )
    )
    print()
    print(
        table(
            ["static file", "bytes", "compressed", "encoding", "Cache-Control", "verdict"],
            [
                [
                    s["url"],
                    s["bytes"],
                    s["compressed_bytes"],
                    s["content_encoding"] or "none",
                    s["cache_control"],
                    verdict(s["far_future"] and s["content_encoding"] in ("gzip", "br") and s["hashed_name"]),
                ]
                for s in statics
            ],
        )
    )
    zero_errors = all(r["errors"] == 0 for r in results.values())
    print(f"\nZero errors: {verdict(zero_errors)}")
    return result


def _status(url):
    host, port = url.split("/")[2].split(":")
    connection = HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request("GET", "/" + url.split("/", 3)[3])
        return connection.getresponse().status
    finally:
        connection.close()
