#!/usr/bin/env python3
"""Runs a C++ benchmark binary and keeps its results: Google Benchmark's JSON, with the commit,
the CPU as lscpu names it and the command added to its context, in bench/results/.

    python bench/run_cpp.py build/bench/bench/cpp/bench_workloads \\
        --benchmark_filter='fit(_[a-z]+)?/f32/.*/threads:2' --benchmark_repetitions=3

Then `python bench/tables.py bench/results/bench_workloads-....json` prints the table.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import HERE, machine, settings, source_revision  # noqa: E402


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        sys.exit(__doc__)
    binary, rest = Path(argv[0]), argv[1:]
    stamp = time.strftime("%Y-%m-%dT%H%M", time.gmtime())
    commit = source_revision()
    out = HERE / "results" / f"{binary.name}-{stamp}-{commit[:7]}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    command = [str(binary), *rest]
    subprocess.run([*command, f"--benchmark_out={out}", "--benchmark_out_format=json"],
                   check=True)
    record = json.loads(out.read_text())
    m = machine()
    record["context"].update({"cpu": m["cpu"], "features": m.get("features", []),
                              "commit": commit, "command": " ".join([*settings(), *command])})
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"# results written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
