#!/usr/bin/env python3
"""Paired A/B of two builds of a Google Benchmark program on one benchmark: short runs of A and
B alternate (which goes first alternates too), each pair gives a ratio B/A, and the median of
the ratios with its quartiles is reported. On a shared, noisy two-core machine the speed drifts
by tens of percent within minutes; pairing cancels the drift that a ratio of two separate
medians would keep.

    python bench/ab.py OLD/bench_workloads NEW/bench_workloads '^fit_adam/f32/mnist-mlp/threads:2' 8

A side may set environment variables before its program, to compare settings of one build:

    python bench/ab.py 'FASTBP_GEMM_BLOCKING=panel=262144 build/bench/bench/cpp/bench_workloads' \
        build/bench/bench/cpp/bench_workloads '^fit/f32/wide/threads:2/' 8
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys

UNITS = {"": 1.0, "k": 1e3, "M": 1e6, "G": 1e9}


def rate(binary: str, benchmark: str, seconds: float) -> float:
    """samples/s (or GFLOP/s where there is no sample counter) of one short run."""
    *settings, program = binary.split()
    env = dict(os.environ, **dict(s.split("=", 1) for s in settings))
    out = subprocess.run([program, f"--benchmark_filter={benchmark}",
                          f"--benchmark_min_time={seconds}"],
                         capture_output=True, text=True, check=True, env=env).stdout
    match = (re.search(r"samples/s=([\d.]+)([kMG]?)/s", out) or
             re.search(r"GFLOP/s=([\d.]+)([kMG]?)/s", out))
    if match is None:
        sys.exit(f"{binary}: no benchmark matched {benchmark!r}")
    return float(match.group(1)) * UNITS[match.group(2)]


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 3:
        sys.exit(__doc__)
    a, b, benchmark = argv[:3]
    pairs = int(argv[3]) if len(argv) > 3 else 12
    ratios, rates_a, rates_b = [], [], []
    for i in range(pairs):
        if i % 2 == 0:
            x = rate(a, benchmark, 0.3)
            y = rate(b, benchmark, 0.3)
        else:
            y = rate(b, benchmark, 0.3)
            x = rate(a, benchmark, 0.3)
        rates_a.append(x)
        rates_b.append(y)
        ratios.append(y / x)
    q1, _, q3 = statistics.quantiles(ratios, n=4)
    print(f"{benchmark:50s} A {statistics.median(rates_a):10.4g}  B "
          f"{statistics.median(rates_b):10.4g}  B/A median {statistics.median(ratios):.3f} "
          f"(quartiles {q1:.2f}-{q3:.2f}, {pairs} pairs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
