"""The benchmarks still run: `python -m bench --quick` takes every part through its steps on tiny
data (on this test run's PostgreSQL and S3 servers, in a database and bucket of its own)."""

import json
import os
import subprocess
import sys

from testing.appserver import ROOT

PARTS = ["images", "pages", "uploads", "http", "frontend", "zip"]


def test_a_quick_benchmark_run_goes_through_every_part_and_writes_its_results(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick"],
        cwd=ROOT,
        env={**os.environ, "VIEWPORT_BENCH_RESULTS": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    for part in PARTS:
        data = json.loads((tmp_path / f"{part}.json").read_text())
        assert data["benchmark"] == part and data["machine"]["cores"]
