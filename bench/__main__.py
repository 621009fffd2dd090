"""Run Viewport's benchmarks: `python -m bench [--quick] [part ...]` (or `bash bench/run ...`).

Parts: images pages uploads http frontend zip watermark (default: all, in that order). Each part prints a
markdown table and writes <part>.json to bench/results/ (or to $VIEWPORT_BENCH_RESULTS).
`--quick` is a smoke run: every part on tiny data in seconds, its figures meaningless; the test
suite runs it so that the benchmarks keep working.
"""

import os
import sys
import time
import traceback

import django

from bench.measure import RESULTS
from bench.stack import Stack

# This process makes users and galleries directly, with the settings of the app under gunicorn:
# Django is set up here, once, before the parts import their models.
stack = Stack()
os.environ.clear()
os.environ.update(stack.env, DJANGO_SETTINGS_MODULE="viewport.settings")
django.setup()

from bench import (  # noqa: E402
    frontend_bench,
    http_bench,
    images_bench,
    pages_bench,
    upload_bench,
    watermark_bench,
    zip_bench,
)

PARTS = {
    "images": images_bench,
    "pages": pages_bench,
    "uploads": upload_bench,
    "http": http_bench,
    "frontend": frontend_bench,
    "zip": zip_bench,
    "watermark": watermark_bench,
}
WITHOUT_SERVERS = {"images", "watermark"}


def main(argv):
    quick = "--quick" in argv
    stack.quick = quick
    names = [arg for arg in argv if not arg.startswith("-")] or list(PARTS)
    unknown = [name for name in names if name not in PARTS]
    if unknown:
        print(f"Unknown part(s): {', '.join(unknown)}. Parts: {', '.join(PARTS)}", file=sys.stderr)
        return 2
    failed = []
    started = time.monotonic()
    if set(names) - WITHOUT_SERVERS:
        print("Starting PostgreSQL, SeaweedFS (S3) and gunicorn on 127.0.0.1 ...", flush=True)
        stack.start()
        print(f"(started in {time.monotonic() - started:.0f} s)", flush=True)
    for name in names:
        part_start = time.monotonic()
        try:
            PARTS[name].run(quick=quick) if name in WITHOUT_SERVERS else PARTS[name].run(stack, quick=quick)
        except Exception:
            traceback.print_exc()
            failed.append(name)
        print(f"\n({name}: {time.monotonic() - part_start:.0f} s)", flush=True)
    print(
        f"\nAll done in {time.monotonic() - started:.0f} s; results in {RESULTS}"
        + (f"; FAILED: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        status = main(sys.argv[1:])
    finally:
        stack.stop()
    sys.exit(status)
