#!/usr/bin/env python3
"""README tables from a named results file in bench/results/, never typed by hand.

    python bench/tables.py bench/results/compare-....json                 # print the table
    python bench/tables.py bench/results/compare-....json --readme README.md
    python bench/tables.py bench/results/workloads-....json --readme README.md
    python bench/tables.py bench/results/predict-....json --plot predict.png

A compare.py file gives the peer table, a predict.py file the inference table, a calls.py
file the per-call table, a compare_with_sklearn.py file (examples/) the scikit-learn table, and
a Google Benchmark JSON file of bench_workloads the optimizer table. With --readme the table replaces the block between `<!-- table: KIND -->` and
`<!-- end table -->`, with a line naming the file, the CPU, the commit and the run's settings.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from compare import human  # noqa: E402

# Columns of the peer table: a peer's modes, of which the fastest is shown (and named).
PEER_COLUMNS = [
    ("NumPy", ["numpy"]),
    ("PyTorch", ["torch", "torch-1t", "torch-compile"]),
    ("JAX", ["jax", "jax-epoch"]),
    ("scikit-learn", ["sklearn"]),
    ("FANN", ["fann"]),
]
MODE_NAMES = {"torch": "eager", "torch-1t": "1 thread", "torch-compile": "compile",
              "jax": "jit step", "jax-epoch": "jit epoch"}


def _commit(record):
    """The commit a results file measured, short, with "-dirty" kept when it was."""
    commit = record["commit"]
    return commit[:7] + ("-dirty" if commit.endswith("-dirty") else "")


def _versions(record):
    return ", ".join(f"{k} {v}" for k, v in record["versions"].items())


def best_modes(medians):
    """Per peer column of the table: (column, mode label, samples/s) of its fastest mode, or
    None where the peer did not run."""
    columns = []
    for column, modes in PEER_COLUMNS:
        present = [m for m in modes if medians.get(m)]
        if not present:
            columns.append(None)
            continue
        top = max(present, key=medians.get)
        columns.append((column, f" ({MODE_NAMES[top]})" if len(modes) > 1 else "", medians[top]))
    return columns


def best_peer(medians):
    """(name, samples/s) of the fastest mode of any peer, (None, 0.0) if none ran."""
    ran = [c for c in best_modes(medians) if c]
    if not ran:
        return None, 0.0
    column, label, rate = max(ran, key=lambda c: c[2])
    return column + label, rate


def bfloat16_table(record, name):
    """compare.py --dtype bfloat16: fastbp's bfloat16 fit against its float32 fit and PyTorch
    under autocast (its fastest mode)."""
    lines = ["| workload | fastbp bfloat16 fit | fastbp float32 fit | bfloat16 / float32 | "
             "PyTorch autocast-bf16 | fastbp bfloat16 / PyTorch |", "|---|---|---|---|---|---|"]
    for w in record["workloads"]:
        med = w["median"]
        fast, f32 = med.get("fastbp-fit"), med.get("fastbp-f32")
        _, torch_name, torch_rate = next(c for c in best_modes(med) + [(None, "", 0.0)]
                                         if c and c[0] == "PyTorch")
        lines.append("| " + " | ".join([
            w["name"], human(fast), human(f32),
            f"{fast / f32:.2f}x" if fast and f32 else "—",
            human(torch_rate) + torch_name if torch_rate else "—",
            f"{fast / torch_rate:.2f}x" if fast and torch_rate else "—"]) + " |")
    source = compare_source(record, name)
    if "avx512_bf16" not in record["machine"].get("features", []):
        source += (" This CPU has no AVX512_BF16: PyTorch's bfloat16 products and fastbp's "
                   "are both emulated.")
    return source + "\n\n" + "\n".join(lines)


def compare_source(record, name):
    """Where a compare.py table comes from: the file, CPU, threads, commit, command, repeats."""
    m = record["machine"]
    return (f"From `{name}`: {m['cpu']} ({', '.join(m.get('features', [])) or 'no AVX2'}), "
            f"{record['threads']} threads, SIMD level {record['simd']}, commit "
            f"{_commit(record)}, "
            f"{record['time_utc'][:10]}; `{record['command']}`: "
            + (f"with {record['background_load']} busy background process(es) running, "
               if record.get("background_load") else "")
            + f"{record['repeats']} interleaved "
            f"repeats of {record['seconds_per_repeat']:g} s, medians of samples/s; "
            f"{_versions(record)}.")


def compare_table(record, name):
    one_thread = any("fastbp-1t" in w["median"] for w in record["workloads"])
    lines = ["| workload | fastbp fit | fastbp train_step | "
             + ("fastbp fit, 1 thread | default / 1 thread | " if one_thread else "")
             + " | ".join(c for c, _ in PEER_COLUMNS) + " | fastbp / best peer |",
             "|---|---|---|" + "---|---|" * one_thread + "---|" * len(PEER_COLUMNS) + "---|"]
    ratios = []
    for w in record["workloads"]:
        med = w["median"]
        cells = [w["name"], human(med.get("fastbp-fit")), human(med.get("fastbp-step"))]
        if one_thread:
            single = med.get("fastbp-1t")
            cells += [human(single), f"{med['fastbp-fit'] / single:.2f}x"
                      if single and med.get("fastbp-fit") else "—"]
        cells += [human(c[2]) + c[1] if c else "—" for c in best_modes(med)]
        best_name, best_rate = best_peer(med)
        fast = med.get("fastbp-fit")
        if fast and best_rate:
            ratios.append(fast / best_rate)
            cells.append(f"{fast / best_rate:.2f}x ({best_name})")
        else:
            cells.append("—")
        lines.append("| " + " | ".join(cells) + " |")
    source = (compare_source(record, name)
              + " Each peer column shows the fastest of that peer's modes.")
    footer = []
    if ratios:
        footer.append(f"Geometric mean of fastbp / best peer over the workloads: "
                      f"{statistics.geometric_mean(ratios):.2f}x.")
    kernel = record.get("dense_forward_vs_matmul")
    if kernel:
        mm, k, n = kernel["shape"]
        f = statistics.median(kernel["gflops"]["dense_forward"])
        np_ = statistics.median(kernel["gflops"]["numpy matmul"])
        footer.append(f"`fastbp.dense_forward` ({mm}×{k})·({k}×{n}) float32 + relu: {f:.0f} "
                      f"GFLOP/s against NumPy matmul's {np_:.0f} in the same run.")
    return source + "\n\n" + "\n".join(lines) + ("\n\n" + " ".join(footer) if footer else "")


def optimizer_table(record, name):
    """bench_workloads' Google Benchmark JSON: fit_<optimizer>/f32/<workload>/threads:N."""
    rates = {}
    for b in record["benchmarks"]:
        match = re.match(r"fit(?:_([a-z]+))?/f32/([\w-]+)/threads:(\d+)", b["name"])
        if not match or b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        if "samples/s" not in b:
            continue
        key = (match.group(2), int(match.group(3)), match.group(1) or "sgd")
        if b.get("run_type") == "aggregate" or key not in rates:
            rates[key] = b["samples/s"]
    threads = max(t for _, t, _ in rates) if rates else 0
    optimizers = ["sgd", "momentum", "nesterov", "adam", "rprop"]
    workloads = list(dict.fromkeys(w for w, t, _ in rates if t == threads))
    lines = ["| workload | SGD | momentum | Nesterov | Adam | RProp |", "|---|---|---|---|---|---|"]
    for w in workloads:
        lines.append("| " + " | ".join([w] + [human(rates.get((w, threads, o)))
                                              for o in optimizers]) + " |")
    c = record["context"]
    source = (f"From `{name}`: {c.get('cpu', c.get('host_name', '?'))}, {threads} threads, "
              f"commit {_commit(c) if 'commit' in c else '?'}, {c.get('date', '?')[:10]}; "
              f"`{c.get('command', 'bench_workloads')}`; float32, samples/s"
              + (" (medians of the repetitions)" if any(
                  b.get("run_type") == "aggregate" for b in record["benchmarks"]) else "") + ".")
    return source + "\n\n" + "\n".join(lines)


def predict_modes(median):
    """fastbp's modes (predict, into a given array, through a Predictor) and the peers of a
    predict run."""
    modes = [p for p in median if p.startswith("fastbp")]
    return modes, [p for p in median if p not in modes]


def predict_table(record, name):
    """bench/predict.py: fastbp's predict against ONNX Runtime and PyTorch per batch size; the
    ratios take MLP.predict's faster mode, and fastbp.Predictor's where the run has it."""
    modes, peers = predict_modes(record["batches"][0]["median"])
    kinds = [("fastbp", [m for m in modes if "Predictor" not in m]),
             ("Predictor", [m for m in modes if "Predictor" in m])]
    kinds = [(label, ms) for label, ms in kinds if ms]
    lines = ["| batch | " + " | ".join(f"{p} µs" for p in modes + peers) + " | " +
             " | ".join(f"{label} / {p}" for label, _ in kinds for p in peers) + " |",
             "|---|" + "---|" * (len(modes) + len(peers) * (1 + len(kinds)))]
    for b in record["batches"]:
        med, n = b["median"], b["batch"]
        cells = [str(n)] + [f"{n / med[p] * 1e6:.1f}" for p in modes + peers]
        for _, ms in kinds:
            best = max(med[m] for m in ms)
            cells += [f"{best / med[p]:.2f}x" for p in peers]
        lines.append("| " + " | ".join(cells) + " |")
    source = (f"From `{name}`: {record['machine']['cpu']}, {record['threads']} threads, commit "
              f"{_commit(record)}, {record['time_utc'][:10]}; `{record['command']}`: "
              f"{record['layers']} {record['hidden']}/{record['output']}, float32, time per call "
              f"(medians of {record['repeats']} interleaved repeats; fastbp / peer is the ratio "
              f"of rows per second, above 1 when fastbp is faster); {_versions(record)}.")
    return source + "\n\n" + "\n".join(lines)


def calls_table(record, name):
    """bench/calls.py: microseconds per call from Python, fastbp's and its peers' steps."""
    lines = ["| call | µs per call |", "|---|---|"]
    for call, rate in record["median"].items():
        lines.append(f"| {call} | {1e6 / rate:.2f} |")
    source = (f"From `{name}`: {record['machine']['cpu']}, 1 thread, commit {_commit(record)}, "
              f"{record['time_utc'][:10]}; `{record['command']}`: {record['layers']} "
              f"{record['hidden']}/{record['output']}, batch {record['batch']}, float32 "
              f"(medians of {record['repeats']} interleaved repeats); {_versions(record)}.")
    return source + "\n\n" + "\n".join(lines)


def sparse_table(record, name):
    """bench/sparse.py: the sparse first layer against the densified input and scikit-learn."""
    modes = list(record["optimizers"][0]["median"])
    lines = ["| optimizer | " + " | ".join(f"{m} samples/s" for m in modes) +
             " | sparse / densified | sparse / scikit-learn |",
             "|---|" + "---|" * (len(modes) + 2)]
    for row in record["optimizers"]:
        med = row["median"]
        cells = [row["optimizer"], *(f"{med[m]:,.0f}" for m in modes),
                 f"{med['fastbp sparse'] / med['fastbp densified']:.1f}x",
                 f"{med['fastbp sparse'] / med['scikit-learn sparse']:.1f}x"]
        lines.append("| " + " | ".join(cells) + " |")
    source = (f"From `{name}`: {record['machine']['cpu']}, {record['threads']} threads, commit "
              f"{_commit(record)}, {record['time_utc'][:10]}; `{record['command']}`: "
              f"{record['layers']} relu/softmax, {record['samples']} samples of "
              f"{record['density']:.2%} density, batch {record['batch']}, float32 (medians of "
              f"{record['repeats']} interleaved repeats, each a fit call of "
              f"{record.get('epochs_per_call', 1)} epochs, or as many partial_fit calls); "
              f"{_versions(record)}.")
    return source + "\n\n" + "\n".join(lines)


def distributed_table(record, name):
    """bench/distributed.py: processes over MPI, synchronous gradients and local SGD."""
    lines = ["| workload | sync | processes | samples/s | over 1 process | Allreduce share |",
             "|---|---|---|---|---|---|"]
    for row in record["throughput"]:
        mark = " (oversubscribed)" if row["oversubscribed"] else ""
        lines.append(f"| {row['workload']} | {row['sync']} | {row['ranks']}{mark} | "
                     f"{row['samples_per_s']:,.0f} | {row['scaling']:.2f}x | "
                     f"{row['allreduce_share']:.0%} |")
    acc = record["digits_accuracy"]
    source = (f"From `{name}`: {record['machine']['cpu']}, 1 thread per process, commit "
              f"{_commit(record)}, {record['time_utc'][:10]}; `{record['command']}` (medians of "
              f"the repeats; every process keeps the workload's batch).")
    digits = (f"Digits after {record['digits_epochs']} epochs, 2 processes, each on its own "
              f"rows (mean of 3 seeds): synchronous {acc['gradients']:.4f}, local SGD every 16 "
              f"steps {acc['local-sgd-16']:.4f}.")
    return source + "\n\n" + "\n".join(lines) + "\n\n" + digits


def sklearn_table(record, name):
    """examples/compare_with_sklearn.py --results: fastbp.sklearn against scikit-learn."""
    sys.path.insert(0, str(ROOT / "examples"))
    from compare_with_sklearn import markdown

    source = (f"From `{name}`: {record['machine']['cpu']}, commit {_commit(record)}, "
              f"{record['time_utc'][:10]}; `{record['command']}`; {_versions(record)}.")
    return source + "\n\n" + markdown(record["rows"], record["seeds"])


def table_of(path):
    record = json.loads(path.read_text())
    try:
        name = str(path.resolve().relative_to(ROOT))
    except ValueError:
        name = str(path)
    if record.get("kind") == "compare" and record.get("dtype", "float32") == "bfloat16":
        return "compare-bfloat16", bfloat16_table(record, name)
    if record.get("kind") == "compare":
        # A run with busy background processes has a block of its own beside the quiet one.
        kind = "compare-loaded" if record.get("background_load") else "compare"
        return kind, compare_table(record, name)
    if record.get("kind") == "predict":
        return "predict", predict_table(record, name)
    if record.get("kind") == "sklearn":
        return "sklearn", sklearn_table(record, name)
    if record.get("kind") == "calls":
        return "calls", calls_table(record, name)
    if record.get("kind") == "sparse":
        return "sparse", sparse_table(record, name)
    if record.get("kind") == "distributed":
        return "distributed", distributed_table(record, name)
    if "benchmarks" in record and "context" in record:
        return "optimizers", optimizer_table(record, name)
    sys.exit(f"{path}: neither a compare.py results file nor a Google Benchmark JSON file")


def replace_block(text, kind, table):
    start, end = f"<!-- table: {kind} -->", "<!-- end table -->"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        sys.exit(f"no '{start}' ... '{end}' block to replace")
    return pattern.sub(lambda _: f"{start}\n{table}\n{end}", text, count=1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a file in bench/results/")
    parser.add_argument("--readme", type=Path, help="replace the table's block in this file")
    parser.add_argument("--plot", type=Path, help="also draw its chart (PNG; compare and predict "
                        "files, with matplotlib)")
    args = parser.parse_args(argv)
    kind, table = table_of(args.results)
    if args.plot:
        from charts import CHARTS
        chart = kind.removesuffix("-loaded")  # a loaded run draws like a quiet one
        if chart not in CHARTS:
            sys.exit(f"--plot: no chart for a {kind} results file (only {', '.join(CHARTS)})")
        CHARTS[chart](json.loads(args.results.read_text()), args.plot)
        print(f"{args.plot}: chart of {args.results}")
    if args.readme:
        args.readme.write_text(replace_block(args.readme.read_text(), kind, table))
        print(f"{args.readme}: the {kind} table now comes from {args.results}")
    else:
        print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
