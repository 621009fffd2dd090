"""Today's code, for comparisons within one run: main as this branch last merged it, without
issue #25 (commit 6242b3f, or $VIEWPORT_BENCH_BASELINE), taken from git. It shares the database
with the current code, so every column it reads must still be there: when a later migration
drops or moves one, move the baseline to a main after it.

- baseline_images(): that version's galleries/images.py, imported as a module of its own (pixel
  work only, no Django), for the image pipeline's "before" figures;
- BaselineApp: that version's whole app under gunicorn with the project's config, beside the
  current one, on the same database and bucket (it reads what the current version wrote: its
  model knows fewer columns), for the pages' and the load's "before" figures.

A clone without that commit (shallow) has no baseline: the parts say so and report the current
figures alone.
"""

import importlib.util
import io
import os
import subprocess
import sys
import tarfile
import time
from functools import cache

from bench.measure import BENCH, RESULTS
from testing.appserver import AppServer, collect_static

REPO = BENCH.parent
REVISION = os.environ.get("VIEWPORT_BENCH_BASELINE", "6242b3f")


class NoBaseline(Exception):
    """The baseline's commit is not in this clone."""


def _git(*args):
    result = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, timeout=120)
    if result.returncode != 0:
        raise NoBaseline(f"git {' '.join(args)}: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


@cache
def revision():
    """The baseline's full commit id and subject, or NoBaseline."""
    return _git("log", "-1", "--format=%h %s", REVISION).decode().strip()


@cache
def baseline_images():
    """The baseline's galleries/images.py as the module `baseline_images`."""
    source = _git("show", f"{REVISION}:galleries/images.py")
    path = RESULTS / "cache" / f"baseline_images_{REVISION}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(source)
    spec = importlib.util.spec_from_file_location("baseline_images", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["baseline_images"] = module
    spec.loader.exec_module(module)
    return module


def baseline_tree(folder):
    """The baseline's files (git archive) unpacked in `folder`."""
    archive = _git("archive", "--format=tar", REVISION)
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


class BaselineApp:
    """The baseline under gunicorn, like the stack's app, on the stack's database and bucket."""

    def __init__(self, stack):
        self.stack = stack
        self.tree = baseline_tree(stack.tmp / "baseline")
        env = {**stack.env, "VIEWPORT_STATIC_ROOT": str(stack.tmp / "baseline-static")}
        collect_static(stack.tmp / "baseline-static", env, code=self.tree)
        self.app = AppServer(env, workers=stack.workers, threads=stack.threads, timeout=120, root=self.tree)

    def __enter__(self):
        self.app.start()
        time.sleep(0.5)  # let every worker finish booting
        return self.app

    def __exit__(self, *exc):
        self.app.stop()


def describe():
    try:
        return revision()
    except NoBaseline as error:
        return f"none ({error})"
