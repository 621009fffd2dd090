"""Lighthouse (the npm package, 12.x) against the app under gunicorn, with Debian's Chromium.

Installed on first use under .cache/lighthouse with npm (never into the repository); a machine
without npm or Chromium gets no Lighthouse figures, and the benchmark says so.
"""

import json
import os
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from bench.measure import BENCH

VERSION = "12.8.2"
INSTALL = BENCH.parent / ".cache" / "lighthouse"
CLI = INSTALL / "node_modules" / "lighthouse" / "cli" / "index.js"
CHROMIUM = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run"
# Lighthouse 12's image audits ("properly size images", "serve images in modern formats",
# "efficiently encode images", "defer offscreen images"): each passes with a score of 1.
IMAGE_AUDITS = ["uses-responsive-images", "modern-image-formats", "uses-optimized-images", "offscreen-images"]
# Reported, not judged: the newer image-delivery insight (shown in place of the audits from
# Lighthouse 13). Its own code warns that without the trace's `hostDPR` metadata, which these
# traces lack, it compares a file's pixels with the CSS pixels it covers, ignoring the emulated
# phone's device pixel ratio: on the phone it counts any sharp image as 1.75² too large.
INSIGHTS = ["image-delivery-insight"]
METRICS = {
    "first-contentful-paint": "FCP",
    "largest-contentful-paint": "LCP",
    "speed-index": "SI",
    "total-blocking-time": "TBT",
    "cumulative-layout-shift": "CLS",
}


class Unavailable(Exception):
    """Lighthouse cannot run here (no npm, no Chromium, or the install failed)."""


class RunFailed(Exception):
    """One Lighthouse run gave no figures (e.g. the page did not load in time)."""


def ensure_installed():
    if CLI.exists():
        return CLI
    if not shutil.which("npm") or not shutil.which("node"):
        raise Unavailable("npm and node are needed to install Lighthouse")
    INSTALL.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["npm", "install", "--prefix", str(INSTALL), "--no-audit", "--no-fund", "--silent", f"lighthouse@{VERSION}"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0 or not CLI.exists():
        raise Unavailable(f"npm install lighthouse@{VERSION} failed: {result.stderr[-500:]}")
    return CLI


def run(url, form_factor="mobile", tries=2):
    """One Lighthouse run (performance only) of `url`: a summary of what the benchmark reports.
    A run that Lighthouse itself reports as failed (under load, Chromium sometimes loses the page)
    is tried again, up to `tries` times in all."""
    for attempt in range(1, tries + 1):
        report = _report(url, form_factor)
        requests = report["audits"]["network-requests"]
        failure = (
            report.get("runtimeError")
            or ("details" not in requests and (requests.get("errorMessage") or "no network requests recorded"))
            or (report["categories"]["performance"]["score"] is None and "no performance score")
        )
        if not failure:
            return summary(report)
        print(f"Lighthouse run {attempt} of {url} ({form_factor}) failed: {failure}", flush=True)
    raise RunFailed(f"Lighthouse failed {tries} times on {url}: {failure}")


def _report(url, form_factor):
    ensure_installed()
    if not Path(CHROMIUM).exists():
        raise Unavailable(f"{CHROMIUM} is missing")
    with tempfile.TemporaryDirectory(prefix="viewport-lighthouse-") as folder:
        output = Path(folder) / "report.json"
        command = [
            "node",
            str(CLI),
            url,
            "--output=json",
            f"--output-path={output}",
            "--only-categories=performance",
            "--quiet",
            f"--chrome-flags={CHROME_FLAGS}",
        ]
        if form_factor == "desktop":
            command.append("--preset=desktop")
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=300, env={**os.environ, "CHROME_PATH": CHROMIUM}
        )
        if not output.exists():
            raise Unavailable(f"Lighthouse failed: {result.stderr[-1000:]}")
        return json.loads(output.read_text())


def median_run(url, form_factor="mobile", runs=3):
    """`runs` Lighthouse runs of `url` (the machine's load makes one run noisy): the run of median
    performance, with each metric the median of the runs', and every run's score and metrics."""
    results = []
    for _ in range(runs + 2):  # a run the loaded machine makes fail (no page loaded) is run again
        if len(results) == runs:
            break
        try:
            results.append(run(url, form_factor, tries=1))
        except RunFailed as error:
            print(f"(Lighthouse run failed, running it again: {error})", flush=True)
    if not results:
        raise Unavailable(f"every Lighthouse run of {url} failed")
    results.sort(key=lambda result: result["performance"])
    median = dict(results[len(results) // 2])
    median["metrics_ms"] = {
        name: statistics.median(result["metrics_ms"][name] for result in results) for name in median["metrics_ms"]
    }
    median["runs"] = [{"performance": r["performance"], "metrics_ms": r["metrics_ms"]} for r in results]
    return median


def summary(report):
    audits = report["audits"]
    requests = audits["network-requests"]["details"]["items"]
    images = [item for item in requests if item.get("resourceType") == "Image" and not item["url"].startswith("data:")]
    return {
        "lighthouse": report["lighthouseVersion"],
        "form_factor": report["configSettings"]["formFactor"],
        "performance": report["categories"]["performance"]["score"],
        "metrics_ms": {short: audits[name]["numericValue"] for name, short in METRICS.items() if name in audits},
        "image_audits": {
            name: {
                "score": audits[name]["score"],
                "items": [
                    {key: item.get(key) for key in ("url", "totalBytes", "wastedBytes")}
                    for item in (audits[name].get("details") or {}).get("items", [])
                ],
            }
            for name in IMAGE_AUDITS + INSIGHTS
            if name in audits
        },
        "image_requests": len(images),
        "image_bytes": sum(item.get("transferSize", 0) for item in images),
        "images": [
            {"url": item["url"], "bytes": item.get("transferSize", 0), "type": item.get("mimeType")} for item in images
        ],
    }


def audits_pass(result):
    """Whether every image audit scored 1 (an audit that did not apply has no score)."""
    return all(
        result["image_audits"][name]["score"] in (1, None) for name in IMAGE_AUDITS if name in result["image_audits"]
    )
