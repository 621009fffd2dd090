"""Many clients at once on loopback: gunicorn (gthread) in production mode, a share page, single
photos and ZIPs. No request may fail, and the share link's counters must equal the number of
successful requests exactly (they change with F() in one UPDATE, never read-modify-write).

Runs for VIEWPORT_LOAD_SECONDS (4 by default, so it stays in the suite); docs/LOAD.md has the
figures of longer runs: `VIEWPORT_LOAD_SECONDS=30 bash scripts/test tests/test_load.py -s`.
"""

import os
import statistics
import time
import zipfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO

import pytest
from django.urls import reverse

from galleries.tests.factories import GalleryFactory, jpeg_upload
from galleries.uploads import store_photo
from sharing.models import LinkDay
from sharing.tests.factories import ShareLinkFactory
from testing.appserver import AppServer, production_env, running_database_url

pytestmark = [pytest.mark.load, pytest.mark.django_db(transaction=True)]

CLIENTS = 8
SECONDS = float(os.environ.get("VIEWPORT_LOAD_SECONDS", 4))
PHOTOS = 6


@pytest.fixture
def link():
    gallery = GalleryFactory(name="Load test")
    for n in range(PHOTOS):
        store_photo(gallery, jpeg_upload(f"IMG_{n:04d}.jpg", width=1200, height=800, color=(n * 40, 90, 160)))
    return ShareLinkFactory(gallery=gallery)


@pytest.fixture
def app(link, static_root):
    """gunicorn on this test's (committed) database and the session's S3 server."""
    database_url = running_database_url()
    # Every thread may stream a ZIP: the clients here read promptly, and no request may be refused.
    env = production_env(
        DATABASE_URL=database_url,
        VIEWPORT_STATIC_ROOT=str(static_root),
        VIEWPORT_ZIP_STREAMS="4",
        VIEWPORT_ZIP_STREAMS_PER_NETWORK="8",  # all the clients are on 127.0.0.1
        VIEWPORT_ZIP_STREAMS_PER_WIDE_NETWORK="8",
    )
    server = AppServer(env, workers=2, threads=4).start()
    yield server
    server.stop()


def get(app, path):
    """Status and body the way a browser sees them (redirects to signed S3 URLs followed)."""
    status, headers, body = app.get(path, timeout=20)
    if headers.get("Content-Length"):
        assert len(body) == int(headers["Content-Length"])
    return status, body


def client_loop(app, link, photos, client_number, deadline):
    """One client: the share page, then each photo, then the ZIP, over and over."""
    plan = [("page", reverse("sharing:public_gallery", args=[link.pk]))]
    plan += [("photo", reverse("sharing:photo_download", args=[link.pk, p.pk])) for p in photos]
    plan += [("zip", reverse("sharing:zip_download", args=[link.pk]))]
    results = []
    step = client_number  # clients start at different places in the plan
    while time.monotonic() < deadline:
        kind, path = plan[step % len(plan)]
        step += 1
        started = time.monotonic()
        try:
            status, body = get(app, path)
            ok = status == 200
            if ok and kind == "zip":
                ok = len(zipfile.ZipFile(BytesIO(body)).namelist()) == len(photos)
        except Exception as error:  # counted and reported, never hidden
            status, ok, body = repr(error), False, b""
        results.append((kind, ok, status, time.monotonic() - started, len(body)))
    return results


def test_concurrent_clients_get_no_errors_and_counters_match(app, link):
    photos = list(link.gallery.photos.in_display_order())
    assert get(app, "/healthz/")[0] == 200
    started = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(client_loop, app, link, photos, n, started + SECONDS) for n in range(CLIENTS)]
        results = [result for future in futures for result in future.result()]
    elapsed = time.monotonic() - started

    failures = [(kind, status) for kind, ok, status, _, _ in results if not ok]
    assert failures == []
    successes = defaultdict(int)
    for kind, ok, *_ in results:
        successes[kind] += ok
    link.refresh_from_db()
    # Every client is one visitor (127.0.0.1, one browser): a download counts once per photo or
    # archive a day, however often it is fetched.
    assert link.views == successes["page"]
    assert 0 < link.single_downloads <= len(photos) and link.zip_downloads == 1
    # The day's row says the same (the test may straddle midnight: sum the days).
    days = LinkDay.objects.filter(link=link)
    assert (sum(d.views for d in days), sum(d.single_downloads for d in days), sum(d.zip_downloads for d in days)) == (
        link.views,
        link.single_downloads,
        link.zip_downloads,
    )
    assert all(successes[kind] > 0 for kind in ("page", "photo", "zip"))
    print(summary(results, elapsed))


def summary(results, elapsed):
    lines = [f"\n{CLIENTS} clients, {elapsed:.1f} s, {len(results)} requests, {len(results) / elapsed:.0f} requests/s"]
    by_kind = defaultdict(list)
    for kind, _, _, seconds, size in results:
        by_kind[kind].append((seconds, size))
    for kind, rows in sorted(by_kind.items()):
        times = sorted(seconds * 1000 for seconds, _ in rows)
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
        megabytes = sum(size for _, size in rows) / 1e6
        lines.append(
            f"{kind:>5}: {len(rows):5d} requests, median {statistics.median(times):6.1f} ms, "
            f"p95 {p95:6.1f} ms, max {times[-1]:6.1f} ms, {megabytes:7.1f} MB"
        )
    return "\n".join(lines)
