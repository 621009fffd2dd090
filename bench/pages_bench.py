"""Target 4: the dashboard gallery page and the public gallery page for 1, 100 and 2,000 photos
(1, 10 and 40 with --quick).

In-process, through Django's test client (the whole middleware stack, production settings), on
the benchmark stack's PostgreSQL: SQL queries per page, median render time, and how much of the
2,000-photo render goes to reverse() (our pages carry our own view URLs) and to URL signing.
"""

import time
import timeit

from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.urls.resolvers import URLResolver
from storages.backends.s3 import S3Storage

from bench.data import create_user, make_gallery
from bench.measure import median, ms, table, verdict, write_result
from galleries.storage import PhotoS3Storage

SIZES = (1, 100, 2000)
QUICK_SIZES = (1, 10, 40)


def _render_times(client, url, rounds):
    times, body = [], b""
    client.get(url)  # warm: template loading, first connection
    for _ in range(rounds):
        start = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, (url, response.status_code)
        body = response.content
    return times, body


def _query_count(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


class _Timer:
    """Wraps a function so the time spent in it (outermost calls only) adds up."""

    def __init__(self):
        self.seconds, self.calls, self.depth = 0.0, 0, 0

    def wrap(self, fn):
        def timed(*args, **kwargs):
            if self.depth:
                return fn(*args, **kwargs)
            self.depth += 1
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start
                self.calls += 1
                self.depth -= 1

        return timed


def _share_of_render(client, url, rounds=5):
    """Share of a page's render time spent in URL reversing and in storage URL signing."""
    reverse_timer, sign_timer = _Timer(), _Timer()
    original_reverse, original_url = URLResolver._reverse_with_prefix, PhotoS3Storage.url
    URLResolver._reverse_with_prefix = reverse_timer.wrap(original_reverse)
    PhotoS3Storage.url = sign_timer.wrap(original_url)
    try:
        total = 0.0
        for _ in range(rounds):
            start = time.perf_counter()
            client.get(url)
            total += time.perf_counter() - start
    finally:
        URLResolver._reverse_with_prefix, PhotoS3Storage.url = original_reverse, original_url
    return {
        "reverse_share": reverse_timer.seconds / total,
        "reverse_calls_per_page": reverse_timer.calls / rounds,
        "signing_share": sign_timer.seconds / total,
        "signing_calls_per_page": sign_timer.calls / rounds,
    }


def signing_costs(number=2000):
    """Per-call cost of our signer, botocore's presigner and reverse(), in the same run."""
    storage = default_storage
    assert isinstance(storage, PhotoS3Storage), "the benchmark stack should use S3"
    key = "3f0c1f7e-0d7a-4d5e-9a63-1f4a8e2b9c10/IMG_00042.jpg"
    parameters = {
        "ResponseContentDisposition": 'attachment; filename="IMG_00042.jpg"',
        "ResponseContentType": "image/jpeg",
        "ResponseCacheControl": "private, max-age=3600",
    }
    storage.url(key, parameters=parameters)
    S3Storage.url(storage, key, parameters=parameters)  # botocore's signer, as django-storages calls it
    client = storage.connection.meta.client
    ids = ("3f0c1f7e-0d7a-4d5e-9a63-1f4a8e2b9c10", "9b2e4a61-5c1d-4f7e-8a90-2d3c4b5a6e7f")

    def per_call(fn):
        return min(timeit.repeat(fn, number=number, repeat=5)) / number

    return {
        "our_signer": per_call(lambda: storage.url(key, parameters=parameters)),
        "django_storages_botocore": per_call(lambda: S3Storage.url(storage, key, parameters=parameters)),
        "botocore_generate_presigned_url": per_call(
            lambda: client.generate_presigned_url(
                "get_object", Params={"Bucket": storage.bucket_name, "Key": key, **parameters}, ExpiresIn=600
            )
        ),
        "reverse": per_call(lambda: reverse("sharing:public_thumbnail", args=ids)),
    }


def run(stack, quick=False):
    sizes = QUICK_SIZES if quick else SIZES
    _, mid, big = sizes
    user = create_user("pages@example.com")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    pages = {}
    for count in sizes:
        gallery, link = make_gallery(user, count, name=f"Pages {count}")
        rounds = 2 if quick else 7 if count == big else 15
        for page, url in (("dashboard", f"/galleries/{gallery.pk}/"), ("public", f"/s/{link.pk}/")):
            times, body = _render_times(client, url, rounds)
            entry = {
                "photos": count,
                "url_kind": page,
                "queries": _query_count(client, url),
                "median_seconds": median(times),
                "seconds": times,
                "html_bytes": len(body),
            }
            if count == big:
                entry.update(_share_of_render(client, url, rounds=2 if quick else 5))
            pages[f"{page}:{count}"] = entry
    costs = signing_costs(50 if quick else 2000)

    summary = {}
    for page in ("dashboard", "public"):
        counts = {n: pages[f"{page}:{n}"]["queries"] for n in sizes}
        summary[page] = {
            "queries": counts,
            "fixed_queries": len(set(counts.values())) == 1,
            "largest_over_middle": pages[f"{page}:{big}"]["median_seconds"] / pages[f"{page}:{mid}"]["median_seconds"],
            "url_work_share_largest": pages[f"{page}:{big}"]["reverse_share"] + pages[f"{page}:{big}"]["signing_share"],
        }
    result = {"pages": pages, "summary": summary, "per_call_seconds": costs}
    write_result("pages", result)

    print("\n### 4. Pages — SQL queries and render time (Django test client, production settings, PostgreSQL)\n")
    rows = []
    for _key, entry in pages.items():
        rows.append(
            [
                entry["url_kind"],
                entry["photos"],
                entry["queries"],
                ms(entry["median_seconds"]),
                f"{entry['html_bytes'] / 1024:.0f} KiB",
            ]
        )
    print(table(["page", "photos", "SQL queries", "median render", "HTML"], rows))
    print()
    rows = []
    for page, s in summary.items():
        e = pages[f"{page}:{big}"]
        rows += [
            [
                f"{page}: fixed query count",
                " / ".join(str(v) for v in s["queries"].values()),
                verdict(s["fixed_queries"]),
            ],
            [
                f"{page}: {big:,}-photo render < 10× {mid:,}-photo",
                f"{s['largest_over_middle']:.1f}×",
                verdict(s["largest_over_middle"] < 10),
            ],
            [
                f"{page}: reverse() + signing share of {big:,}-photo render < ¼",
                f"{s['url_work_share_largest']:.0%} ({e['reverse_calls_per_page']:.0f} reverse, "
                f"{e['signing_calls_per_page']:.0f} signing calls)",
                verdict(s["url_work_share_largest"] < 0.25),
            ],
        ]
    print(table(["target", "figure", "verdict"], rows))
    print()
    print(
        table(
            ["per call", "time"],
            [
                ["PhotoS3Storage.url() (our SigV4 signer)", f"{costs['our_signer'] * 1e6:.1f} µs"],
                ["django-storages S3Storage.url() (botocore)", f"{costs['django_storages_botocore'] * 1e6:.1f} µs"],
                ["botocore generate_presigned_url()", f"{costs['botocore_generate_presigned_url'] * 1e6:.1f} µs"],
                ["django reverse() of a photo URL", f"{costs['reverse'] * 1e6:.1f} µs"],
                [
                    "our signer vs botocore",
                    f"{costs['botocore_generate_presigned_url'] / costs['our_signer']:.1f}× faster",
                ],
            ],
        )
    )
    return result
