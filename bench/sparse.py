#!/usr/bin/env python3
"""Sparse input: fastbp's sparse first layer against fastbp on the same data densified and
against scikit-learn's MLPClassifier on the same sparse matrix, training a text classifier on
TF-IDF-like input (100,000 features, 0.1% of them nonzero, [100000, 256, 5] relu/softmax,
batch 64, float32). Two optimizers: plain SGD (lr 0.01, the reference workloads' rule), where
a step touches only the rows of W[0] the batch's nonzeros select, and Adam (scikit-learn's
default), which moves every row every step. fastbp trains --epochs-per-call epochs a fit call,
scikit-learn as many partial_fit calls; interleaved repeats of whole calls, medians of
samples/s; a results file in bench/results/ like compare.py's.

    python bench/sparse.py
    python bench/sparse.py --samples 512 --repeats 3     # quicker
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import (SETTLE_SECONDS, human, machine, measure,  # noqa: E402
                     require_cpus, settings, source_revision, write_results)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=int, default=100_000)
    parser.add_argument("--density", type=float, default=0.001)
    parser.add_argument("--samples", type=int, default=1024)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--classes", type=int, default=5)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--epochs-per-call", type=int, default=5,
                        help="epochs per fit call (scikit-learn: partial_fit calls)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0, help="least length of one repeat")
    parser.add_argument("--results", type=Path, help="the results file to write")
    return parser.parse_args(argv)


def tfidf_like(rng, n, features, density, classes):
    """Rows of `features * density` distinct terms each: a third drawn Zipf-like (common terms
    shared by many rows), the rest uniformly; positive weights, each row scaled to unit length;
    labels from a random linear model of the same rows, so there is something to learn."""
    import numpy as np
    from scipy import sparse
    per_row = max(1, int(round(features * density)))
    rows = []
    for _ in range(n):
        common = np.minimum(rng.zipf(1.5, size=per_row // 3), features) - 1
        terms = np.unique(np.concatenate([common, rng.integers(0, features, size=2 * per_row)]))
        rows.append(rng.choice(terms, size=per_row, replace=False))
    cols = np.concatenate(rows)
    vals = rng.exponential(1.0, size=n * per_row).astype(np.float32)
    X = sparse.csr_matrix((vals, cols, np.arange(0, n * per_row + 1, per_row)),
                          shape=(n, features))
    X = sparse.csr_matrix(X.multiply(1.0 / np.sqrt(X.multiply(X).sum(axis=1))), dtype=np.float32)
    y = np.asarray(X @ rng.standard_normal((features, classes)).astype(np.float32)).argmax(1)
    return X, y


def main(argv=None):
    args = parse_args(argv)
    import numpy as np
    import scipy
    import sklearn
    from sklearn.neural_network import MLPClassifier

    import fastbp

    require_cpus(args.threads)
    fastbp.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    X, y = tfidf_like(rng, args.samples, args.features, args.density, args.classes)
    dense = X.toarray()
    layers = [args.features, args.hidden, args.classes]
    optimizers = {"sgd": lambda: fastbp.SGD(0.01), "adam": lambda: fastbp.Adam(0.001)}
    sk_settings = {"sgd": dict(solver="sgd", momentum=0.0, learning_rate_init=0.01),
                   "adam": dict(solver="adam", learning_rate_init=0.001)}

    def fastbp_epochs(opt, data):
        net = fastbp.MLP(layers, hidden="relu", output="softmax", seed=0)
        def epoch():
            net.fit(data, y, epochs=args.epochs_per_call, batch_size=args.batch,
                    optimizer=optimizers[opt](), seed=1)
            return args.samples * args.epochs_per_call
        return epoch

    def sklearn_epochs(opt):
        clf = MLPClassifier((args.hidden,), alpha=0.0, batch_size=args.batch, random_state=0,
                            **sk_settings[opt])
        classes = np.arange(args.classes)
        def epoch():
            for _ in range(args.epochs_per_call):
                clf.partial_fit(X, y, classes=classes)
            return args.samples * args.epochs_per_call
        return epoch

    # The sparse layer computes what the dense one does: one step each from the same weights.
    a, b = (fastbp.MLP(layers, hidden="relu", output="softmax", seed=0) for _ in range(2))
    for net, data in ((a, X), (b, dense)):
        net.train_step(data[:args.batch], y[:args.batch], optimizer=fastbp.Adam(0.001))
    for wa, wb in zip(a.weights, b.weights):
        np.testing.assert_allclose(wa, wb, rtol=1e-4, atol=1e-6)

    versions = {"fastbp": fastbp.__version__, "numpy": np.__version__,
                "scipy": scipy.__version__, "scikit-learn": sklearn.__version__}
    record = {"kind": "sparse",
              "command": " ".join([*settings(), "python", "bench/sparse.py", *sys.argv[1:]]),
              "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "commit": source_revision(), "machine": machine(), "versions": versions,
              "threads": args.threads, "layers": layers, "batch": args.batch,
              "samples": args.samples, "epochs_per_call": args.epochs_per_call,
              "density": float(X.nnz / (X.shape[0] * X.shape[1])),
              "repeats": args.repeats, "seconds_per_repeat": args.seconds, "optimizers": []}
    print(f"# sparse input: {args.samples} samples, {layers} relu/softmax, batch {args.batch}, "
          f"{X.nnz / args.samples:.0f} nonzeros a row, float32, {args.threads} thread(s); "
          + ", ".join(f"{k} {v}" for k, v in versions.items()), flush=True)
    for opt in optimizers:
        runs = {"fastbp sparse": fastbp_epochs(opt, X),
                "fastbp densified": fastbp_epochs(opt, dense),
                "scikit-learn sparse": sklearn_epochs(opt)}
        rates = {name: [] for name in runs}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scikit-learn's ConvergenceWarning per epoch
            for _ in range(args.repeats):
                for name, epoch in runs.items():
                    time.sleep(SETTLE_SECONDS)
                    rates[name].append(measure(epoch, args.seconds))
        medians = {name: statistics.median(r) for name, r in rates.items()}
        record["optimizers"].append({"optimizer": opt, "samples_per_second": rates,
                                     "median": medians})
        print(f"# {opt}: " + ", ".join(f"{k} {human(v)} samples/s" for k, v in medians.items())
              + "; fastbp sparse / densified "
              f"{medians['fastbp sparse'] / medians['fastbp densified']:.1f}x, / scikit-learn "
              f"{medians['fastbp sparse'] / medians['scikit-learn sparse']:.1f}x", flush=True)
    write_results(record, args.results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
