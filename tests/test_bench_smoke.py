"""The benchmarks still run: `python -m bench --quick` takes every part through its steps on tiny
data (on this test run's PostgreSQL and S3 servers, in a database and bucket of its own). The
parts without servers and those with them run as two tests, which the suite's processes share."""

import json
import os
import subprocess
import sys

import pytest

from testing.appserver import ROOT


@pytest.mark.parametrize(
    "parts", [["images", "watermark"], ["pages", "uploads", "http", "frontend", "zip"]], ids=["pixels", "servers"]
)
def test_a_quick_benchmark_run_goes_through_every_part_and_writes_its_results(tmp_path, static_root, parts):
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", *parts],
        cwd=ROOT,
        env={**os.environ, "VIEWPORT_BENCH_RESULTS": str(tmp_path), "VIEWPORT_BENCH_STATIC_ROOT": str(static_root)},
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    for part in parts:
        data = json.loads((tmp_path / f"{part}.json").read_text())
        assert data["benchmark"] == part and data["machine"]["cores"]
