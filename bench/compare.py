#!/usr/bin/env python3
"""fastbp against its peers on the reference workloads, side by side in one run.

    python bench/compare.py                 # all workloads, every installed peer
    python bench/compare.py --quick         # under a minute
    python bench/compare.py --workloads wide mnist-mlp --peers fastbp-fit numpy torch
    python bench/compare.py --dtype bfloat16  # fastbp's bfloat16 products against autocast

Every peer trains the same network on the same standard-normal data with plain SGD (lr 0.01);
repeats are interleaved, each in another order (A B C, A C B, C A B, ...), and the table shows
medians of samples/s. Peers run in each mode their users choose between: PyTorch eager on
--threads threads, on one thread, and with torch.compile; JAX jitted per step and with the whole
epoch in one jit (lax.scan); fastbp's ratio is to the fastest mode of any peer. A peer that is
not installed is skipped with a note. FLOPs per step = 6 x weights x batch.

With --dtype bfloat16, fastbp-fit trains MLP(dtype="bfloat16") and its peers are PyTorch's modes
under torch.autocast("cpu", dtype=torch.bfloat16); fastbp-f32 (fastbp's float32 fit) is shown
for the ratio bfloat16 / float32. Peers without a bfloat16 mode are left out.

Every run writes a results file (bench/results/compare-<UTC time>-<commit>.json): the commit,
the CPU as lscpu names it, the versions, the command and every repeat. The README's tables are
generated from such a file by bench/tables.py.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# name: (module, runner function, pip package, the runner's options given --threads). Peers run
# in every mode their users pick between, and fastbp is held to the best of them.
PEERS = {
    "fastbp-fit": ("fastbp_peer", "fit_runner", "fastbp", lambda t: {}),
    "fastbp-step": ("fastbp_peer", "train_step_runner", "fastbp", lambda t: {}),
    "fastbp-1t": ("fastbp_peer", "fit_runner", "fastbp", lambda t: {"threads": 1}),
    "fastbp-f32": ("fastbp_peer", "fit_runner", "fastbp", lambda t: {"dtype": "float32"}),
    "numpy": ("numpy_peer", "runner", "numpy", lambda t: {}),
    "torch": ("torch_peer", "runner", "torch", lambda t: {"threads": t}),
    "torch-1t": ("torch_peer", "runner", "torch", lambda t: {"threads": 1}),
    "torch-compile": ("torch_peer", "runner", "torch", lambda t: {"threads": t, "compiled": True}),
    "jax": ("jax_peer", "runner", "jax", lambda t: {}),
    "jax-epoch": ("jax_epoch_peer", "runner", "jax", lambda t: {}),
    "sklearn": ("sklearn_peer", "runner", "scikit-learn", lambda t: {}),
    "fann": ("fann_peer", "rate_runner", "FANN (C++ benchmark)", lambda t: {}),
}
FASTBP = ("fastbp-fit", "fastbp-step", "fastbp-1t", "fastbp-f32")
# The peers with a bfloat16 mode, and what --dtype bfloat16 runs by default.
BFLOAT16_PEERS = ("fastbp-fit", "fastbp-step", "fastbp-1t", "fastbp-f32", "torch", "torch-1t",
                  "torch-compile")


def peer_options(name, threads, dtype):
    """The runner's options for `name` in a run of `dtype`."""
    options = PEERS[name][3](threads)
    if dtype == "bfloat16":
        if PEERS[name][0] == "fastbp_peer":
            options.setdefault("dtype", "bfloat16")
        elif PEERS[name][0] == "torch_peer":
            options["autocast"] = True
    return options


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 short repeats, small data")
    parser.add_argument("--workloads", nargs="+", help="names from bench/workloads.json")
    parser.add_argument("--peers", nargs="+", choices=list(PEERS),
                        help="default: every peer (with --dtype bfloat16, those with a "
                             "bfloat16 mode)")
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one repeat")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--background-load", type=int, default=0, metavar="N",
                        help="run N busy processes (one spinning thread each) for the whole "
                             "run, as a laptop's browser or a shared CI machine would")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    parser.add_argument("--plot", type=Path, help="bar chart (PNG) of fastbp / best peer")
    parser.add_argument("--results", type=Path,
                        help="the results file to write (default: bench/results/compare-"
                             "<UTC time>-<commit>.json); every repeat, the CPU, the versions")
    args = parser.parse_args(argv)
    if args.peers is None:
        args.peers = ([p for p in PEERS if p != "fastbp-f32"] if args.dtype == "float32"
                      else list(BFLOAT16_PEERS))
    elif args.dtype == "bfloat16" and set(args.peers) - set(BFLOAT16_PEERS):
        parser.error(f"--dtype bfloat16: {', '.join(sorted(set(args.peers) - set(BFLOAT16_PEERS)))}"
                     f" has no bfloat16 mode")
    if args.quick:
        args.repeats, args.seconds = 3, 0.25
    return args


def load_workloads(names):
    from peers.common import Workload

    spec = json.loads((HERE / "workloads.json").read_text())["workloads"]
    workloads = [Workload(**w) for w in spec]
    if names:
        unknown = set(names) - {w.name for w in workloads}
        if unknown:
            sys.exit(f"unknown workloads: {', '.join(sorted(unknown))}")
        workloads = [w for w in workloads if w.name in names]
    return workloads


SETTLE_SECONDS = 0.2


def measure(run_epoch, seconds):
    """Samples per second over whole epochs lasting at least `seconds` in total."""
    samples, start = 0, time.perf_counter()
    while True:
        samples += run_epoch()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return samples / elapsed


def matmul_gflops(workload, repeats, seconds):
    """NumPy matmul on the same GEMM shapes as the forward pass: the practical roofline."""
    import numpy as np

    rng = np.random.default_rng(0)
    shapes = list(zip(workload.layers[:-1], workload.layers[1:]))
    xs = [rng.standard_normal((workload.batch, a), dtype=np.float32) for a, _ in shapes]
    ws = [rng.standard_normal((a, b), dtype=np.float32) for a, b in shapes]
    flops = sum(2 * workload.batch * a * b for a, b in shapes)
    rates = []
    for _ in range(repeats):
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / 4:
            for x, w in zip(xs, ws):
                x @ w
            count += 1
        rates.append(count * flops / (time.perf_counter() - start) / 1e9)
    return statistics.median(rates)


def forward_vs_matmul(repeats, seconds, shape=(256, 1024, 2048)):
    """fastbp.dense_forward (GEMM + bias + activation, argument checks included) against NumPy's
    matmul on the same float32 shape, interleaved; medians of GFLOP/s."""
    import numpy as np
    import fastbp

    m, k, n = shape
    rng = np.random.default_rng(0)
    x = rng.standard_normal((m, k), dtype=np.float32)
    W = rng.standard_normal((k, n), dtype=np.float32)
    b = np.zeros(n, np.float32)
    calls = {"dense_forward": lambda: fastbp.dense_forward(x, W, b, "relu"),
             "numpy matmul": lambda: x @ W}
    rates = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            time.sleep(SETTLE_SECONDS)
            call()
            count, start = 0, time.perf_counter()
            while time.perf_counter() - start < seconds / 2:
                call()
                count += 1
            rates[name].append(2 * m * n * k * count / (time.perf_counter() - start) / 1e9)
    f, mm = (statistics.median(rates[name]) for name in calls)
    line = (f"# dense_forward ({m}x{k})·({k}x{n}) float32, relu epilogue: {f:.1f} GFLOP/s; "
            f"numpy matmul: {mm:.1f} GFLOP/s; ratio {f / mm:.0%}")
    return line, {"shape": [m, k, n], "gflops": rates}


def human(rate):
    if rate is None:
        return "—"
    for unit, scale in (("M", 1e6), ("k", 1e3)):
        if rate >= scale:
            return f"{rate / scale:.3g}{unit}"
    return f"{rate:.3g}"


def versions(peers):
    found = {"python": platform.python_version()}
    for name in peers:
        if name == "fann":
            continue
        package = PEERS[name][2]
        module = {"scikit-learn": "sklearn"}.get(package, package)
        try:
            found[package] = importlib.import_module(module).__version__
        except ImportError:
            pass
    return found


def machine():
    """The CPU the numbers come from, as lscpu names it, and the SIMD features that matter."""
    info = {"cpu": platform.processor() or platform.machine(), "logical_cpus": os.cpu_count()}
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        info["cpu"] = fields.get("Model name", info["cpu"]).strip()
        flags = fields.get("Flags", "").split()
        info["features"] = [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16")
                            if f in flags]
    except (OSError, subprocess.CalledProcessError):
        pass
    try:  # what fastbp chose on this CPU: cpuid's family and model, caches, GEMM blocking
        import fastbp
        info["fastbp"] = fastbp.cpu_info()
    except ImportError:
        pass
    return info


# The environment settings that change thread placement and kernels, part of the command; read
# before any peer is imported. Not KMP_*: scikit-learn and PyTorch set Intel OpenMP variables of
# their own when imported.
SETTINGS = [f"{k}={v}" for k, v in sorted(os.environ.items())
            if k.startswith(("OMP_", "FASTBP_", "GOMP_")) and k != "OMP_NUM_THREADS"]


def settings():
    return SETTINGS


def require_cpus(threads):
    """Exits unless this process may run on `threads` CPUs. OMP_PROC_BIND makes GNU OpenMP pin
    the main thread to one core as it loads, and every thread pool started later (JAX's, ONNX
    Runtime's, OpenBLAS's) inherits that one core: the peers would be timed on half the
    machine while fastbp's OpenMP team spreads over both."""
    if not hasattr(os, "sched_getaffinity"):
        return
    allowed = len(os.sched_getaffinity(0))
    if allowed < threads:
        sys.exit(f"this process may run on {allowed} CPU(s), fewer than --threads {threads} "
                 f"(OMP_PROC_BIND={os.environ.get('OMP_PROC_BIND')!r} pins it as OpenMP loads): "
                 f"unset OMP_PROC_BIND/OMP_PLACES so every peer has the same cores")


def source_revision():
    """The commit measured, with "-dirty" when the working tree differs from it."""
    def git(*command):
        return subprocess.run(["git", "-C", str(HERE), *command], capture_output=True,
                              text=True).stdout.strip()
    commit = git("rev-parse", "HEAD")
    if not commit:
        return "unknown"
    return commit + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def write_results(record, path=None):
    """Keeps a run's record: at `path`, or in bench/results/KIND-TIME-COMMIT.json."""
    path = path or HERE / "results" / (f"{record['kind']}-{record['time_utc'][:16].replace(':', '')}"
                                       f"-{record['commit'][:7]}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n")
    print(f"# results written to {path} (tables: python bench/tables.py {path})")
    return path


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    sys.path.insert(0, str(HERE))
    import fastbp
    from peers.common import make_data

    require_cpus(args.threads)

    fastbp.set_num_threads(args.threads)
    try:
        import torch
        torch.set_num_threads(args.threads)
    except ImportError:
        pass

    workloads = load_workloads(args.workloads)
    load = start_background_load(args.background_load)
    try:
        return run_comparison(args, workloads, fastbp, make_data)
    finally:
        for process in load:
            process.kill()
            process.wait()


def start_background_load(count):
    """`count` processes each spinning one thread until killed: the competition for the cores
    that a laptop's browser or a shared CI machine brings."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def run_comparison(args, workloads, fastbp, make_data):
    available, notes = [], []
    for name in args.peers:
        module, _, package, _ = PEERS[name]
        if name == "fann":
            from peers import fann_peer
            ok, why = fann_peer.available()
            if ok:
                available.append(name)
            else:
                notes.append(f"fann: skipped ({why})")
            continue
        try:
            importlib.import_module({"scikit-learn": "sklearn"}.get(package, package))
            available.append(name)
        except ImportError:
            notes.append(f"{name}: skipped ({package} not installed)")
    info = versions(available)
    print(f"# fastbp compare: {args.repeats} interleaved repeats of {args.seconds:g} s, "
          f"{args.threads} thread(s), SIMD {fastbp.simd_level()}, {args.dtype}"
          + (f", {args.background_load} busy background process(es)" if args.background_load
             else ""))
    print("# versions: " + ", ".join(f"{k} {v}" for k, v in info.items()))
    for note in notes:
        print(f"# {note}")

    record = {"kind": "compare",
              "command": " ".join([*settings(), "python", "bench/compare.py", *sys.argv[1:]]),
              "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "commit": source_revision(), "machine": machine(), "versions": info,
              "threads": args.threads, "simd": fastbp.simd_level(), "repeats": args.repeats,
              "dtype": args.dtype,
              "background_load": args.background_load,
              "seconds_per_repeat": args.seconds, "notes": notes, "workloads": []}
    rows = []
    for w in workloads:
        n = 1024 if args.quick else 2048
        data = make_data(w, max(n // w.batch, 4) * w.batch)
        rate_functions = {}
        for name in available:
            module, function, _, options = PEERS[name]
            factory = getattr(importlib.import_module(f"peers.{module}"), function)
            try:
                if name == "fann":  # an external program: it reports samples/s itself
                    rate_functions[name] = factory(w, args.seconds)
                    continue
                run_epoch = factory(w, data, **peer_options(name, args.threads, args.dtype))
                run_epoch()  # warm-up (JIT, workspaces, caches)
                rate_functions[name] = (lambda r: lambda: measure(r, args.seconds))(run_epoch)
            except Exception as exc:  # a peer that cannot run this workload is reported, not fatal
                print(f"# {w.name}: {name} failed: {type(exc).__name__}: {exc}")
        rates = {name: [] for name in rate_functions}
        names = list(rate_functions)
        for repeat in range(args.repeats):
            # Each repeat in another order (rotated by the repeat, reversed on odd repeats), so
            # that the same peer is not always timed first, nor always after the same neighbour.
            shift = repeat % len(names) if names else 0
            order = names[shift:] + names[:shift]
            for name in order[::-1] if repeat % 2 else order:
                rate = rate_functions[name]
                # The previous peer's worker threads (OpenBLAS, OpenMP, PyTorch) spin for a
                # while after their last call; let them park so peers do not time each other.
                time.sleep(SETTLE_SECONDS)
                rates[name].append(rate())
        medians = {name: statistics.median(r) for name, r in rates.items()}
        roofline = matmul_gflops(w, args.repeats, args.seconds) if "numpy" in available else None
        rows.append((w, medians, roofline))
        record["workloads"].append({"name": w.name, "layers": w.layers, "batch": w.batch,
                                    "samples_per_second": rates, "median": medians,
                                    "matmul_gflops": roofline})
        print(f"# {w.name}: " + ", ".join(f"{k} {human(v)}/s" for k, v in medians.items()),
              flush=True)
        if "fastbp-f32" in medians and "fastbp-fit" in medians:
            print(f"# {w.name}: fastbp {args.dtype} / fastbp float32: "
                  f"{medians['fastbp-fit'] / medians['fastbp-f32']:.2f}x", flush=True)

    kernel_line, record["dense_forward_vs_matmul"] = forward_vs_matmul(args.repeats, args.seconds)
    print(kernel_line)

    peer_names = [p for p in available if p not in FASTBP]
    # real / matmul only where the step is GEMM-bound (batch >= 64); elsewhere matmul on tiny
    # shapes measures NumPy's call overhead, not a roofline.
    header = ["workload", *[p for p in available], "best peer", "fastbp-fit / best",
              "fastbp GFLOP/s (6W)", "fastbp real GFLOP/s", "matmul GFLOP/s", "real / matmul"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for w, medians, roofline in rows:
        peers_here = {p: medians[p] for p in peer_names if p in medians}
        best = max(peers_here, key=peers_here.get) if peers_here else None
        fast = medians.get("fastbp-fit")
        ratio = fast / peers_here[best] if best and fast else None
        gflops = 6 * w.n_weights * fast / 1e9 if fast else None
        real = w.real_flops_per_sample * fast / 1e9 if fast else None
        cells = [w.name, *[human(medians.get(p)) for p in available],
                 f"{best} {human(peers_here[best])}" if best else "—",
                 f"{ratio:.2f}x" if ratio else "—",
                 f"{gflops:.1f}" if gflops else "—",
                 f"{real:.1f}" if real else "—",
                 f"{roofline:.1f}" if roofline else "—",
                 f"{real / roofline:.0%}" if real and roofline and w.batch >= 64 else "—"]
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print()
    print(table)
    if args.markdown:
        args.markdown.write_text(table + "\n\n" + kernel_line.lstrip("# ") + "\n")
    write_results(record, args.results)
    if args.plot:
        try:
            from charts import compare_chart
            compare_chart(record, args.plot)
        except ImportError:
            print("# --plot: matplotlib not installed, no chart")
        else:
            print(f"# chart written to {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
