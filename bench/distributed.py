#!/usr/bin/env python3
"""Data-parallel training over MPI: samples/s of 1, 2 and 3 processes (1 thread each; 3
oversubscribes a 2-core machine and is marked so) on mnist-mlp and wide, with synchronous
gradient sums and with local SGD (averaging every 16 steps); the scaling over one process and
the share of each step spent in Allreduce. Then the accuracy on scikit-learn's digits after the
same number of epochs, local SGD against synchronous training, with 2 processes.

Weak scaling, as data-parallel training runs: every process keeps the workload's batch, so 2
processes step on twice the rows. Each configuration is one `mpiexec -n K` of this script in
worker mode; a results file in bench/results/ like compare.py's.

    python bench/distributed.py
    python bench/distributed.py --workloads mnist-mlp --ranks 1 2 --repeats 3    # quicker
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from compare import (load_workloads, machine, require_cpus, settings,  # noqa: E402
                     source_revision, write_results)

SYNCS = {"gradients": 0, "local-sgd-16": 16}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", default=["mnist-mlp", "wide"])
    parser.add_argument("--ranks", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--syncs", nargs="+", default=list(SYNCS), choices=list(SYNCS))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0, help="least length of one repeat")
    parser.add_argument("--digits-epochs", type=int, default=30)
    parser.add_argument("--results", type=Path, help="the results file to write")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # a JSON task, run under mpiexec
    return parser.parse_args(argv)


def sync_setting(name):
    import fastbp
    every = SYNCS[name]
    return fastbp.distributed.LocalSGD(every=every) if every else "gradients"


def throughput(task):
    """Worker: samples/s of every process together, and the share of the time in Allreduce."""
    import numpy as np
    from mpi4py import MPI

    import fastbp
    comm = MPI.COMM_WORLD
    w = task["workload"]
    fastbp.set_num_threads(1)
    spent = [0.0]
    summing = fastbp.distributed._summing

    def timed(comm_):
        total = summing(comm_)

        def run(values):
            start = time.perf_counter()
            total(values)
            spent[0] += time.perf_counter() - start

        return run

    fastbp.distributed._summing = timed
    rng = np.random.default_rng(0)  # the same data on every process: shard="global"
    n = w["batch"] * comm.Get_size() * task["steps"]
    X = rng.standard_normal((n, w["layers"][0]), dtype=np.float32)
    y = rng.integers(0, w["layers"][-1], n)
    net = fastbp.MLP(w["layers"], hidden=w["hidden"], output=w["output"], seed=0)
    sync = sync_setting(task["sync"])
    fit = dict(batch_size=w["batch"], lr=0.01, comm=comm, sync=sync, seed=0)
    net.fit(X, y, epochs=1, **fit)  # warm-up: pages, kernels, the first collectives
    rates, shares = [], []
    for _ in range(task["repeats"]):
        epochs, elapsed, spent[0] = 0, 0.0, 0.0
        comm.Barrier()
        while elapsed < task["seconds"]:
            start = time.perf_counter()
            net.fit(X, y, epochs=1, **fit)
            elapsed += time.perf_counter() - start
            epochs += 1
            elapsed = comm.allreduce(elapsed, op=MPI.MAX)  # every process runs as many epochs
        rates.append(n * epochs / elapsed)
        shares.append(comm.allreduce(spent[0], op=MPI.MAX) / elapsed)
    return {"samples_per_s": statistics.median(rates), "rates": rates,
            "allreduce_share": statistics.median(shares)}


def digits_accuracy(task):
    """Worker: test accuracy on digits after the same epochs, each process on its own rows."""
    import numpy as np
    from mpi4py import MPI
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    import fastbp
    comm = MPI.COMM_WORLD
    fastbp.set_num_threads(1)
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=0.25,
                                                        random_state=0, stratify=y)
    own = slice(comm.Get_rank(), None, comm.Get_size())
    accuracy = {}
    for name in SYNCS:
        scores = []
        for seed in range(task["seeds"]):
            net = fastbp.MLP([64, 256, 128, 10], output="softmax", seed=seed)
            net.fit(X_train[own], y_train[own], epochs=task["epochs"], batch_size=16, lr=0.05,
                    momentum=0.9, seed=seed + comm.Get_rank(), comm=comm, shard="local",
                    sync=sync_setting(name))
            scores.append(float(np.mean(net.predict(X_test).argmax(1) == y_test)))
        accuracy[name] = statistics.mean(scores)
    return accuracy


def launch(ranks, task):
    """Runs this script as a worker in `ranks` processes; returns process 0's result."""
    command = ["mpiexec", "-n", str(ranks), sys.executable, __file__, "--worker", json.dumps(task)]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def worker(task):
    from mpi4py import MPI
    result = throughput(task) if task["kind"] == "throughput" else digits_accuracy(task)
    if MPI.COMM_WORLD.Get_rank() == 0:
        print(json.dumps(result), flush=True)


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        return worker(json.loads(args.worker))
    require_cpus(1)
    cores = os.cpu_count() or 1
    rows = []
    print("| workload | sync | processes | samples/s | over 1 process | efficiency | "
          "Allreduce share |")
    print("|---|---|---|---|---|---|---|")
    for w in map(dataclasses.asdict, load_workloads(args.workloads)):
        # enough steps per epoch that an epoch is not dominated by fit's entry
        steps = 64 if w["name"] != "wide" else 16
        for sync in args.syncs:
            single = None
            for ranks in args.ranks:
                result = launch(ranks, {"kind": "throughput", "workload": w, "sync": sync,
                                        "steps": steps, "repeats": args.repeats,
                                        "seconds": args.seconds})
                rate = result["samples_per_s"]
                single = rate if ranks == 1 else single
                scaling = rate / single if single else float("nan")
                mark = " (oversubscribed)" if ranks > cores else ""
                rows.append({"workload": w["name"], "sync": sync, "ranks": ranks,
                             "oversubscribed": ranks > cores, "scaling": scaling, **result})
                print(f"| {w['name']} | {sync} | {ranks}{mark} | {rate:,.0f} | {scaling:.2f}x | "
                      f"{scaling / ranks:.0%} | {result['allreduce_share']:.0%} |", flush=True)
    accuracy = launch(2, {"kind": "digits", "epochs": args.digits_epochs, "seeds": 3})
    print(f"\ndigits, 2 processes, {args.digits_epochs} epochs, mean of 3 seeds: synchronous "
          f"{accuracy['gradients']:.4f}, local SGD (every 16) {accuracy['local-sgd-16']:.4f}, "
          f"difference {100 * (accuracy['local-sgd-16'] - accuracy['gradients']):+.2f} points")
    record = {"kind": "distributed", "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "commit": source_revision(), "machine": machine(), "settings": settings(),
              "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
              "throughput": rows, "digits_accuracy": accuracy,
              "digits_epochs": args.digits_epochs}
    write_results(record, args.results)


if __name__ == "__main__":
    main()
