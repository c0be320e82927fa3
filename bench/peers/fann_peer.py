"""FANN (the C library libfann), measured by the C++ benchmark program bench_workloads, which
is built with it when libfann-dev is installed. Each call runs the program once for the given
time and returns its samples/s, so repeats interleave with the Python peers."""

import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CANDIDATES = [os.environ.get("FASTBP_BENCH_WORKLOADS", ""),
              str(ROOT / "build/bench/bench/cpp/bench_workloads")]


def binary():
    for path in CANDIDATES:
        if path and os.access(path, os.X_OK):
            return path
    return None


def available():
    path = binary()
    if not path:
        return False, "bench_workloads not built (see README: C++ benchmarks)"
    listing = subprocess.run([path, "--benchmark_list_tests=true", "--benchmark_filter=fann/"],
                             capture_output=True, text=True, check=False).stdout
    if "fann/" not in listing:
        return False, "bench_workloads was built without FANN (apt install libfann-dev)"
    return True, ""


def rate_runner(w, seconds):
    path = binary()

    def rate():
        out = subprocess.run(
            [path, f"--benchmark_filter=^fann/f32/{w.name}/", "--benchmark_format=json",
             f"--benchmark_min_time={seconds}"], capture_output=True, text=True, check=True)
        return float(json.loads(out.stdout)["benchmarks"][0]["samples/s"])
    return rate
