"""Measuring and reporting: timing, memory readings, the machine, result files and tables."""

import json
import os
import platform
import resource
import statistics
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULTS = Path(os.environ.get("VIEWPORT_BENCH_RESULTS", BENCH / "results"))


def median(values):
    return statistics.median(values)


def timed(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def interleaved(variants, rounds, warmup=1):
    """Run each variant `rounds` times, interleaved (A B C A B C ...) so a noisy neighbour hits
    all of them alike; return {name: [seconds, ...]}."""
    for _ in range(warmup):
        for fn in variants.values():
            fn()
    times = {name: [] for name in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            times[name].append(timed(fn))
    return times


def maxrss_kib():
    """This process's peak RSS in KiB. VmHWM, not getrusage(): ru_maxrss survives exec(), so a
    child started by a big parent reports the parent's peak."""
    return proc_status("self", ("VmHWM",)).get("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def proc_status(pid, fields=("VmRSS", "VmHWM")):
    """{field: KiB} from /proc/<pid>/status."""
    values = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in fields:
                values[key] = int(rest.split()[0])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return values


def machine():
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average": os.getloadavg(),
    }


def git_revision():
    try:
        return subprocess.run(
            ["git", "-C", str(BENCH), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def write_result(name, data):
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {"benchmark": name, "machine": machine(), "git": git_revision(), **data}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=str))
    return path


def table(headers, rows):
    """A markdown table as a string."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def verdict(ok):
    return "met" if ok else "**NOT met**"


def ms(seconds):
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.2f} ms"
