"""Target 6: what a client downloads for the public gallery page (100 photos; 10 with --quick),
fetched from the running server: HTML, CSS and JS bytes, as sent (compressed) and uncompressed."""

import gzip
import re

from bench.data import create_user, make_gallery
from bench.measure import table, write_result


def run(stack, quick=False):
    user = create_user("frontend@example.com")
    count = 10 if quick else 100
    _, link = make_gallery(user, count, name=f"Front end {count} photos")
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
    totals = {
        kind: {
            "bytes": sum(r["bytes"] for r in rows if r["kind"] == kind),
            "sent_bytes": sum(r["sent_bytes"] for r in rows if r["kind"] == kind),
        }
        for kind in ("html", "css", "js")
    }
    result = {"files": rows, "totals": totals}
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
    if not rows[0]["encoding"]:
        print(
            f"\nThe HTML itself is sent uncompressed ({rows[0]['bytes']:,} bytes; gzip would make it "
            f"{rows[0]['gzip_would_be']:,})."
        )
    return result
