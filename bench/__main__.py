"""Run Viewport's benchmarks: `python -m bench [--quick] [part ...]` (or `bash bench/run ...`).

Parts: images pages uploads http frontend zip (default: all, in that order). Results go to
bench/results/<part>.json; each part prints a markdown table.
"""

import importlib
import sys
import time
import traceback

PARTS = {
    "images": ("bench.images_bench", False),
    "pages": ("bench.pages_bench", True),
    "uploads": ("bench.upload_bench", True),
    "http": ("bench.http_bench", True),
    "frontend": ("bench.frontend_bench", True),
    "zip": ("bench.zip_bench", True),
}


def main(argv):
    quick = "--quick" in argv
    names = [arg for arg in argv if not arg.startswith("-")] or list(PARTS)
    unknown = [name for name in names if name not in PARTS]
    if unknown:
        print(f"Unknown part(s): {', '.join(unknown)}. Parts: {', '.join(PARTS)}", file=sys.stderr)
        return 2
    stack = None
    failed = []
    started = time.monotonic()
    try:
        for name in names:
            module_name, needs_stack = PARTS[name]
            part_start = time.monotonic()
            try:
                module = importlib.import_module(module_name)
                if needs_stack and stack is None:
                    from bench.server import Stack

                    print("Starting PostgreSQL, SeaweedFS (S3) and gunicorn on 127.0.0.1 ...", flush=True)
                    stack = Stack().start()
                module.run(stack, quick=quick) if needs_stack else module.run(quick=quick)
            except Exception:
                traceback.print_exc()
                failed.append(name)
            print(f"\n({name}: {time.monotonic() - part_start:.0f} s)", flush=True)
    finally:
        if stack:
            stack.stop()
    print(f"\nAll done in {time.monotonic() - started:.0f} s; results in bench/results/*.json"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
