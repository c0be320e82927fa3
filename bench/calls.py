#!/usr/bin/env python3
"""The cost of one call from Python, for people who write their own loops (online learning,
reinforcement learning, custom schedules): `train_step`, `loss`, `gradients` and `predict` on
one sample of a small network, against the compiled call alone (fastbp._core, no Python layer)
and the same step in JAX (`jax.jit` of the SGD step) and PyTorch (eager forward, backward and
update).
Interleaved repeats, medians of calls/s; a results file in bench/results/.

    python bench/calls.py                        # [2, 8, 1] tanh/sigmoid, batch 1
    python bench/calls.py --layers 784 128 10 --hidden relu
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import (SETTLE_SECONDS, machine, measure, settings,  # noqa: E402
                     source_revision, write_results)

CALLS_PER_ROUND = 200  # calls timed together: the clock's own cost stays out of the figure


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, nargs="+", default=[2, 8, 1])
    parser.add_argument("--hidden", default="tanh", choices=["tanh", "relu"])
    parser.add_argument("--output", default="sigmoid", choices=["sigmoid"],
                        help="the peers' steps are written for a sigmoid output with bce")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.3, help="length of one repeat")
    parser.add_argument("--results", type=Path, help="the results file to write")
    return parser.parse_args(argv)


def jax_step(layers, hidden, x, t, lr):
    import jax
    import jax.numpy as jnp
    activation = {"tanh": jnp.tanh, "relu": jax.nn.relu}[hidden]
    keys = jax.random.split(jax.random.PRNGKey(0), len(layers) - 1)
    params = [(jax.random.normal(k, (a, b)) * 0.1, jnp.zeros(b))
              for k, a, b in zip(keys, layers[:-1], layers[1:])]

    def loss(params, x, t):
        for W, b in params[:-1]:
            x = activation(x @ W + b)
        W, b = params[-1]
        z = x @ W + b  # sigmoid + binary cross-entropy from the logits
        return jnp.mean(jnp.sum(jnp.maximum(z, 0) - z * t + jnp.log1p(jnp.exp(-jnp.abs(z))), 1))

    @jax.jit
    def step(params, x, t):
        value, grads = jax.value_and_grad(loss)(params, x, t)
        return [(W - lr * gW, b - lr * gb) for (W, b), (gW, gb) in zip(params, grads)], value

    state = {"params": params}
    xj, tj = jnp.asarray(x), jnp.asarray(t)

    def call():
        state["params"], value = step(state["params"], xj, tj)
        return value
    call().block_until_ready()
    return lambda: call().block_until_ready(), jax.__version__


def torch_step(layers, hidden, x, t, lr):
    import torch
    torch.set_num_threads(1)
    blocks = []
    for a, b in zip(layers[:-2], layers[1:-1]):
        blocks += [torch.nn.Linear(a, b), {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}[hidden]()]
    model = torch.nn.Sequential(*blocks, torch.nn.Linear(layers[-2], layers[-1]))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loss = torch.nn.BCEWithLogitsLoss()
    xt, tt = torch.from_numpy(x), torch.from_numpy(t)

    def call():
        optimizer.zero_grad()
        value = loss(model(xt), tt)
        value.backward()
        optimizer.step()
        return value.item()
    return call, torch.__version__


def main(argv=None):
    args = parse_args(argv)
    import numpy as np

    import fastbp

    fastbp.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batch, args.layers[0]), dtype=np.float32)
    t = (rng.random((args.batch, args.layers[-1])) > 0.5).astype(np.float32)
    net = fastbp.MLP(args.layers, hidden=args.hidden, output=args.output, seed=0)
    sgd = fastbp.SGD(lr=0.01)
    core = net._net
    out = np.empty((args.batch, args.layers[-1]), dtype=np.float32)
    calls = {
        "fastbp train_step(lr=)": lambda: net.train_step(x, t, lr=0.01),
        "fastbp train_step(optimizer=)": lambda: net.train_step(x, t, optimizer=sgd),
        "fastbp loss": lambda: net.loss(x, t),
        "fastbp gradients": lambda: net.gradients(x, t),
        "fastbp predict": lambda: net.predict(x),
        "fastbp predict(out=)": lambda: net.predict(x, out=out),
        # The compiled calls the package makes for arrays that need no conversion.
        "compiled train_step alone": lambda: core.ready_train_step(x, t, sgd._core),
        "compiled predict alone": lambda: core.ready_predict(x, None),
    }
    versions, notes = {"fastbp": fastbp.__version__, "numpy": np.__version__}, []
    for name, make in (("jax", jax_step), ("torch", torch_step)):
        try:
            calls[f"{name} step"], versions[name] = make(args.layers, args.hidden, x, t, 0.01)
        except ImportError as exc:
            notes.append(f"{name}: skipped ({exc})")

    record = {"kind": "calls",
              "command": " ".join([*settings(), "python", "bench/calls.py", *sys.argv[1:]]),
              "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "commit": source_revision(), "machine": machine(), "versions": versions,
              "layers": args.layers, "hidden": args.hidden, "output": args.output,
              "batch": args.batch, "repeats": args.repeats,
              "seconds_per_repeat": args.seconds, "notes": notes}
    rates = {name: [] for name in calls}
    for _ in range(args.repeats):
        for name, call in calls.items():
            time.sleep(SETTLE_SECONDS / 4)

            def round_of_calls(call=call):
                for _ in range(CALLS_PER_ROUND):
                    call()
                return CALLS_PER_ROUND
            rates[name].append(measure(round_of_calls, args.seconds))
    record["calls_per_second"] = rates
    record["median"] = {name: statistics.median(r) for name, r in rates.items()}
    for name, rate in record["median"].items():
        print(f"# {name}: {1e6 / rate:.2f} µs a call")
    write_results(record, args.results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
