"""Target 4: the cost of a page. The dashboard gallery page and the public gallery page for 1, 100
and 2,000 photos (1, 10 and 40 with --quick), and the login page beside them.

1. In-process, through Django's test client (the whole middleware stack, production settings),
   on the stack's PostgreSQL: SQL queries per page drawn afresh (empty cache) and again (the
   tiles and counts from the cache), median render time (CPU and wall) of a page drawn again,
   the first render's, HTML size, and each page's cost against the login page's, interleaved.
2. Side by side over HTTP, one request at a time on a kept-alive connection: the login page and
   the 100-photo public page (and dashboard) on the app and on today's code (bench/baseline.py)
   under gunicorn, so that today's ratio and the new one come from the same run.
Also the per-call cost of URL signing and reverse().
"""

import http.client
import time
import timeit

from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from storages.backends.s3 import S3Storage

from bench.baseline import describe
from bench.data import create_user, login, make_gallery
from bench.measure import median, ms, table, verdict, write_result
from galleries.storage import PhotoS3Storage

SIZES = (1, 100, 2000)
QUICK_SIZES = (1, 10, 40)
LOGIN = "/accounts/login/"


def _timed_get(client, url):
    cpu, wall = time.process_time(), time.perf_counter()
    response = client.get(url)
    elapsed = time.process_time() - cpu, time.perf_counter() - wall
    assert response.status_code == 200, (url, response.status_code)
    return elapsed, response


def _render_times(clients_and_urls, rounds):
    """{url: [(cpu, wall), ...]} of requests interleaved over the urls, after one warm-up each."""
    for client, url in clients_and_urls:
        client.get(url)
    times = {url: [] for _, url in clients_and_urls}
    for _ in range(rounds):
        for client, url in clients_and_urls:
            times[url].append(_timed_get(client, url)[0])
    return times


def _queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response


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
        "botocore_generate_presigned_url": per_call(
            lambda: client.generate_presigned_url(
                "get_object", Params={"Bucket": storage.bucket_name, "Key": key, **parameters}, ExpiresIn=600
            )
        ),
        "reverse": per_call(lambda: reverse("sharing:public_thumbnail", args=ids)),
    }


def http_latencies(server, paths, rounds, cookies=None):
    """{path: median seconds} of GETs to `server` (an AppServer), one at a time, interleaved."""
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in (cookies or {}).items())} if cookies else {}
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    times = {path: [] for path in paths}

    def get(path):
        nonlocal connection
        for attempt in range(2):
            try:
                start = time.perf_counter()
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
                assert response.status == 200, (path, response.status)
                return time.perf_counter() - start
            except (ConnectionError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
                if attempt:
                    raise
        return None

    for path in paths:
        for _ in range(3):  # warm: templates, connections, caches
            get(path)
    for _ in range(rounds):
        for path in paths:
            times[path].append(get(path))
    connection.close()
    return {path: median(values) for path, values in times.items()}


def side_by_side(stack, user, link, gallery, rounds):
    """The login page and the 100-photo pages on the app and on today's code, same run."""
    cookies, _ = login(stack, user)
    servers = {"app": stack.app, "today": stack.baseline()}
    result = {}
    for name, server in servers.items():
        if server is None:
            continue
        public = http_latencies(server, [LOGIN, f"/s/{link.pk}/"], rounds)
        dashboard = http_latencies(server, [f"/galleries/{gallery.pk}/"], rounds, cookies)
        result[name] = {
            "login_seconds": public[LOGIN],
            "public_seconds": public[f"/s/{link.pk}/"],
            "dashboard_seconds": dashboard[f"/galleries/{gallery.pk}/"],
            "public_over_login": public[f"/s/{link.pk}/"] / public[LOGIN],
            "dashboard_over_login": dashboard[f"/galleries/{gallery.pk}/"] / public[LOGIN],
        }
    return result


def run(stack, quick=False):
    sizes = QUICK_SIZES if quick else SIZES
    _, mid, big = sizes
    rounds = 3 if quick else 15
    user = create_user("pages@example.com")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    visitor = Client(HTTP_HOST="127.0.0.1")
    pages = {}
    galleries = {}
    for count in sizes:
        gallery, link = make_gallery(user, count, name=f"Pages {count}")
        galleries[count] = (gallery, link)
        for page, who, url in (
            ("dashboard", client, f"/galleries/{gallery.pk}/"),
            ("public", visitor, f"/s/{link.pk}/"),
        ):
            cache.clear()
            (first_cpu, first_wall), _ = _timed_get(who, url)
            cache.clear()
            cold_queries, _ = _queries(who, url)
            warm_queries, response = _queries(who, url)
            times = _render_times([(visitor, LOGIN), (who, url)], rounds)
            pages[f"{page}:{count}"] = {
                "photos": count,
                "url_kind": page,
                "queries_first": cold_queries,
                "queries_again": warm_queries,
                "first_render_cpu_seconds": first_cpu,
                "first_render_wall_seconds": first_wall,
                "median_cpu_seconds": median([c for c, _ in times[url]]),
                "median_wall_seconds": median([w for _, w in times[url]]),
                "login_median_cpu_seconds": median([c for c, _ in times[LOGIN]]),
                "html_bytes": len(response.content),
            }
            entry = pages[f"{page}:{count}"]
            entry["over_login"] = entry["median_cpu_seconds"] / entry["login_median_cpu_seconds"]
    costs = signing_costs(50 if quick else 2000)
    gallery, link = galleries[mid]
    http = side_by_side(stack, user, link, gallery, 5 if quick else 30)

    summary = {}
    for page in ("dashboard", "public"):
        first = {n: pages[f"{page}:{n}"]["queries_first"] for n in sizes}
        summary[page] = {
            "queries_first": first,
            "fixed_queries": len(set(first.values())) == 1,
            "largest_over_middle": pages[f"{page}:{big}"]["median_cpu_seconds"]
            / pages[f"{page}:{mid}"]["median_cpu_seconds"],
            "over_login": pages[f"{page}:{mid}"]["over_login"],
        }
    public_ok = summary["public"]["over_login"] <= 2.5 and (
        not http.get("app") or http["app"]["public_over_login"] <= 2.5
    )
    dashboard_ok = summary["dashboard"]["over_login"] <= 2.5 and (
        not http.get("app") or http["app"]["dashboard_over_login"] <= 2.5
    )
    result = {
        "baseline": describe(),
        "pages": pages,
        "summary": summary,
        "side_by_side_http": http,
        "per_call_seconds": costs,
        "targets": {
            "public page (middle size) <= 2.5x the login page": public_ok,
            "dashboard (middle size) <= 2.5x the login page": dashboard_ok,
        },
    }
    write_result("pages", result)

    print("\n### 4. Pages — SQL queries and render time (Django test client, production settings, PostgreSQL)\n")
    rows = []
    for entry in pages.values():
        rows.append(
            [
                entry["url_kind"],
                entry["photos"],
                f"{entry['queries_first']} / {entry['queries_again']}",
                ms(entry["first_render_cpu_seconds"]),
                f"{ms(entry['median_cpu_seconds'])} ({ms(entry['median_wall_seconds'])} wall)",
                f"{entry['over_login']:.1f}×",
                f"{entry['html_bytes'] / 1024:.0f} KiB",
            ]
        )
    print(
        table(
            [
                "page",
                "photos",
                "queries: first / again",
                "first render (CPU)",
                "render again (CPU)",
                "÷ login page",
                "HTML",
            ],
            rows,
        )
    )
    if http:
        print(
            f"\nSide by side over HTTP, {mid} photos, one request at a time (median latency; today = {describe()}):\n"
        )
        print(
            table(
                ["server", "login page", "public page", "÷ login", "dashboard", "÷ login"],
                [
                    [
                        name,
                        ms(r["login_seconds"]),
                        ms(r["public_seconds"]),
                        f"{r['public_over_login']:.1f}×",
                        ms(r["dashboard_seconds"]),
                        f"{r['dashboard_over_login']:.1f}×",
                    ]
                    for name, r in http.items()
                ],
            )
        )
    print()
    rows = [
        [
            f"public page, {mid} photos, ≤ 2.5× the login page (CPU, in-process; HTTP latency)",
            f"{summary['public']['over_login']:.1f}×; "
            + (
                f"{http['app']['public_over_login']:.1f}× (today {http['today']['public_over_login']:.1f}×)"
                if "today" in http
                else "no baseline"
            ),
            verdict(public_ok),
        ],
        [
            f"dashboard, {mid} photos, ≤ 2.5× the login page (CPU, in-process; HTTP latency)",
            f"{summary['dashboard']['over_login']:.1f}×"
            + (f"; HTTP {http['app']['dashboard_over_login']:.1f}×" if "app" in http else "")
            + (f" (today {http['today']['dashboard_over_login']:.1f}×)" if "today" in http else ""),
            verdict(dashboard_ok),
        ],
    ]
    for page, s in summary.items():
        rows += [
            [
                f"{page}: fixed query count, drawn afresh",
                " / ".join(str(v) for v in s["queries_first"].values()),
                verdict(s["fixed_queries"]),
            ],
            [
                f"{page}: {big:,}-photo render < 10× {mid:,}-photo",
                f"{s['largest_over_middle']:.1f}×",
                verdict(s["largest_over_middle"] < 10),
            ],
        ]
    print(table(["target", "figure", "verdict"], rows))
    print()
    print(
        table(
            ["per call", "time"],
            [
                ["PhotoS3Storage.url() (our SigV4 signer)", f"{costs['our_signer'] * 1e6:.1f} µs"],
                ["botocore generate_presigned_url()", f"{costs['botocore_generate_presigned_url'] * 1e6:.1f} µs"],
                ["django reverse() of a photo URL", f"{costs['reverse'] * 1e6:.1f} µs"],
            ],
        )
    )
    return result
