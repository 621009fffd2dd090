"""Targets 2, 3 and 6: what a client downloads for the public gallery, and how fast it paints.

1. Bytes of the public page of 100 photos (10 with --quick), fetched from the running server:
   HTML, CSS and JS, uncompressed and as sent to a browser that accepts Brotli and gzip.
2. Lighthouse 12 (bench/lighthouse.py; skipped with --quick), performance only, against
   gunicorn, on the app and on today's code (bench/baseline.py) side by side:
   - the public page of the real photos (../shared/testdata, 18 photos; else camera-like
     ones made here), uploaded through the pipeline, with a cover: at Lighthouse's phone
     (412 px, 1.75 dpr, slow 4G, 4x CPU) and desktop sizes: image bytes, the image audits
     (sizing, modern formats, encoding, offscreen; and the newer image-delivery insight);
     and the app's page in each other cover layout (split, frame, minimal) at the phone size;
   - a 2,000-photo gallery (rows sharing those photos' stored files) at the phone size: when
     its first screen is painted (FCP; the tiles' placeholders are in the HTML), Speed Index,
     and LCP (the cover photo arriving).
"""

import gzip
import itertools
import re

from django.core.files.uploadedfile import SimpleUploadedFile

from bench import lighthouse
from bench.baseline import describe
from bench.data import create_user, make_gallery
from bench.measure import ms, table, verdict, write_result
from bench.photos import camera_jpeg, real_photos
from galleries.models import CoverLayout, Gallery, Photo
from galleries.uploads import store_photo
from sharing.models import ShareLink


def page_bytes(stack, link):
    _, _, html = stack.request("GET", f"/s/{link.pk}/")
    _, headers, html_sent = stack.request("GET", f"/s/{link.pk}/", headers={"Accept-Encoding": "br, gzip"})
    rows = [
        {
            "kind": "html",
            "url": f"/s/{link.pk}/",
            "bytes": len(html),
            "sent_bytes": len(html_sent),
            "encoding": headers.get("Content-Encoding", ""),
            "gzip_would_be": len(gzip.compress(html, 6)),
        }
    ]
    for kind, pattern in (("css", rb'href="(/static/[^"]+\.css)"'), ("js", rb'src="(/static/[^"]+\.js)"')):
        for url in dict.fromkeys(m.decode() for m in re.findall(pattern, html)):
            _, _, plain = stack.request("GET", url)
            _, headers, sent = stack.request("GET", url, headers={"Accept-Encoding": "br, gzip"})
            rows.append(
                {
                    "kind": kind,
                    "url": url,
                    "bytes": len(plain),
                    "sent_bytes": len(sent),
                    "encoding": headers.get("Content-Encoding", ""),
                }
            )
    return rows


def photo_gallery(user):
    """A gallery of the real photos (or camera-like ones), uploaded through the pipeline."""
    paths = real_photos() or [camera_jpeg(6000, 4000, seed=n, orientation=(1, 6)[n % 2]) for n in range(8)]
    gallery = Gallery.objects.create(owner=user, name="Iceland, June")
    photos = [store_photo(gallery, SimpleUploadedFile(p.name, p.read_bytes(), "image/jpeg")) for p in paths]
    gallery.cover_photo = photos[0]
    gallery.save()
    return gallery, ShareLink.objects.create(gallery=gallery), photos


def big_gallery(user, photos, count):
    """A gallery of `count` photo rows whose renditions are the stored files of `photos`."""
    gallery, link = make_gallery(user, count, name=f"Lighthouse {count} photos")
    rows = list(Photo.objects.filter(gallery=gallery))
    for row, photo in zip(rows, itertools.cycle(photos), strict=False):
        for field in ("thumbnail_object_key", "preview_object_key", "size_keys", "placeholder", "width", "height"):
            setattr(row, field, getattr(photo, field))
    Photo.objects.bulk_update(
        rows, ["thumbnail_object_key", "preview_object_key", "size_keys", "placeholder", "width", "height"], 500
    )
    Gallery.objects.filter(pk=gallery.pk).update(cover_photo=rows[0])
    return link


def lighthouse_runs(stack, link, big_link):
    servers = {"app": stack.app, "today": stack.baseline()}
    runs = {}
    for name, server in servers.items():
        if server is None:
            continue
        warm_up(stack, server, link, big_link)
        try:
            for form_factor in ("mobile", "desktop"):
                # The desktop scores 100: one run there, the median of three on the phone.
                runs[f"{name}:{form_factor}"] = lighthouse.median_run(
                    f"{server.url}/s/{link.pk}/", form_factor, runs=1 if form_factor == "desktop" else 3
                )
            runs[f"{name}:mobile:2000"] = lighthouse.median_run(f"{server.url}/s/{big_link.pk}/", "mobile")
        except lighthouse.Unavailable as error:
            if name == "app":
                raise
            # Today's code may no longer run in this environment (a package it needs was dropped
            # since): the app's figures stand alone, and the report says so.
            print(f"(no Lighthouse figures for today's code: {str(error)[:300]})", flush=True)
            runs = {key: run for key, run in runs.items() if not key.startswith(f"{name}:")}
    # The app's other cover layouts (the runs above show the default, full), on the phone.
    gallery = link.gallery
    for layout in (CoverLayout.SPLIT, CoverLayout.FRAME, CoverLayout.MINIMAL):
        gallery.cover_layout = layout
        gallery.save()
        warm_up(stack, stack.app, link)
        runs[f"app:mobile:{layout}"] = lighthouse.median_run(f"{stack.app.url}/s/{link.pk}/", "mobile")
    gallery.cover_layout = CoverLayout.FULL
    gallery.save()
    return runs


def warm_up(stack, server, *links):
    """As a visitor finds the pages after the first: every gunicorn worker has drawn each once
    (the app keeps the tiles it drew; today's code draws them every time)."""
    for _ in range(2 * stack.workers):
        for link in links:
            server.get(f"/s/{link.pk}/")


def page_name(key):
    """The page a Lighthouse run's key names: "app:mobile:2000", "app:mobile:split", "app:mobile"."""
    last = key.split(":")[-1]
    if last == "2000":
        return "2,000 photos"
    return f"real photos, cover {last if last in CoverLayout.values else CoverLayout.FULL}"


def run(stack, quick=False):
    user = create_user("frontend@example.com")
    count = 10 if quick else 100
    _, link = make_gallery(user, count, name=f"Front end {count} photos")
    rows = page_bytes(stack, link)
    totals = {
        kind: {
            "bytes": sum(r["bytes"] for r in rows if r["kind"] == kind),
            "sent_bytes": sum(r["sent_bytes"] for r in rows if r["kind"] == kind),
        }
        for kind in ("html", "css", "js")
    }
    runs, unavailable = {}, None
    if quick:
        unavailable = "skipped with --quick"
    else:
        try:
            lighthouse.ensure_installed()
            _, photos_link, photos = photo_gallery(user)
            runs = lighthouse_runs(stack, photos_link, big_gallery(user, photos, 2000))
        except lighthouse.Unavailable as error:
            unavailable = str(error)
    targets = {}
    if "app:mobile" in runs:
        targets["image audits pass (phone and desktop)"] = all(
            lighthouse.audits_pass(runs[f"app:{form_factor}"]) for form_factor in ("mobile", "desktop")
        )
        targets["phone performance >= 95 with every cover layout"] = all(
            runs[key]["performance"] >= 0.95
            for key in ("app:mobile", *(f"app:mobile:{layout}" for layout in ("split", "frame", "minimal")))
        )
        targets["2,000-photo gallery: first screen painted (FCP) < 1 s on the phone"] = (
            runs["app:mobile:2000"]["metrics_ms"]["FCP"] < 1000
        )
        if "today:mobile" in runs:
            targets["phone image bytes <= half of today's"] = (
                runs["app:mobile"]["image_bytes"] <= runs["today:mobile"]["image_bytes"] / 2
            )
    result = {
        "baseline": describe(),
        "files": rows,
        "totals": totals,
        "lighthouse": runs,
        "lighthouse_unavailable": unavailable,
        "targets": targets,
    }
    write_result("frontend", result)

    print(f"\n### 6. Front end — public gallery page with {count} photos (images excluded)\n")
    print(
        table(
            ["file", "bytes", "sent (Accept-Encoding: br, gzip)", "encoding"],
            [
                [f"{r['kind']}: {r['url']}", f"{r['bytes']:,}", f"{r['sent_bytes']:,}", r["encoding"] or "none"]
                for r in rows
            ],
        )
    )
    print()
    print(
        table(["total", "bytes", "sent"], [[k, f"{v['bytes']:,}", f"{v['sent_bytes']:,}"] for k, v in totals.items()])
    )
    if unavailable:
        print(f"\nLighthouse: {unavailable}.")
        return result
    print(f"\n### 2-3. Lighthouse {lighthouse.VERSION} against gunicorn (today = {describe()})\n")
    print(
        table(
            [
                "page",
                "server",
                "form factor",
                "performance",
                "FCP",
                "LCP",
                "Speed Index",
                "TBT",
                "CLS",
                "image bytes",
                "images",
            ],
            [
                [
                    page_name(key),
                    key.split(":")[0],
                    r["form_factor"],
                    f"{r['performance'] * 100:.0f}",
                    ms(r["metrics_ms"]["FCP"] / 1000),
                    ms(r["metrics_ms"]["LCP"] / 1000),
                    ms(r["metrics_ms"]["SI"] / 1000),
                    ms(r["metrics_ms"]["TBT"] / 1000),
                    f"{r['metrics_ms']['CLS']:.3f}",
                    f"{r['image_bytes']:,}",
                    r["image_requests"],
                ]
                for key, r in runs.items()
            ],
        )
    )
    print()
    print(
        table(
            ["image audit (score; flagged files)", *[key for key in runs if not key.endswith(":2000")]],
            [
                [name]
                + [
                    (
                        f"{runs[key]['image_audits'][name]['score']} ({len(runs[key]['image_audits'][name]['items'])})"
                        if name in runs[key]["image_audits"]
                        else "n/a"
                    )
                    for key in runs
                    if not key.endswith(":2000")
                ]
                for name in lighthouse.IMAGE_AUDITS + lighthouse.INSIGHTS
            ],
        )
    )
    print()
    rows = [[name, verdict(ok)] for name, ok in targets.items()]
    if "today:mobile" in runs:
        app, today = runs["app:mobile"]["image_bytes"], runs["today:mobile"]["image_bytes"]
        rows.insert(0, ["phone image bytes (real photos)", f"{app:,} vs {today:,} today: {1 - app / today:.0%} less"])
    print(table(["target", "figure / verdict"], rows))
    return result
