"""fastbp.sklearn against scikit-learn's MLP on scikit-learn's bundled data sets.

Same hyperparameters, same splits, five seeds each; prints test accuracy (R^2 for diabetes) and
training time for both, as a Markdown table. Adam (scikit-learn's default) on each data set,
lbfgs (scikit-learn's advice for small data) on four, and a sparse text-like data set (TF-IDF
of documents drawn from per-class word distributions; a scipy.sparse matrix that neither
library densifies).

    python examples/compare_with_sklearn.py [--seeds 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkClassifier
from sklearn.neural_network import MLPRegressor as SkRegressor
from sklearn.preprocessing import StandardScaler

from fastbp.sklearn import MLPClassifier, MLPRegressor


def load_text_like(return_X_y=True, documents=3000, vocabulary=20_000, classes=4, seed=0):
    """TF-IDF rows of synthetic documents: each class draws its ~60 words from its own Zipf-shaped
    word distribution over a shared vocabulary (the classes overlap in their common words), as
    a bag-of-words data set looks; a CSR matrix of about 0.3% density."""
    rng = np.random.default_rng(seed)
    ranks = 1.0 / np.arange(1, vocabulary + 1) ** 1.1
    rows, cols = [], []
    y = rng.integers(0, classes, size=documents)
    orders = [rng.permutation(vocabulary) for _ in range(classes)]
    shared = rng.permutation(vocabulary)
    for i, label in enumerate(y):
        words = rng.choice(vocabulary, size=60, p=ranks / ranks.sum())
        own = rng.random(60) < 0.3  # a third from the class's words, the rest from everyone's
        cols.append(np.where(own, orders[label][words], shared[words]))
        rows.append(np.full(60, i))
    counts = sparse.csr_matrix((np.ones(documents * 60), (np.concatenate(rows),
                                                          np.concatenate(cols))),
                               shape=(documents, vocabulary))
    return TfidfTransformer().fit_transform(counts).astype(np.float64), y


# (name, loader, task, hyperparameters shared by both libraries)
DATASETS = [
    ("digits", load_digits, "classification",
     dict(hidden_layer_sizes=(100,), learning_rate_init=0.001, max_iter=200)),
    ("breast cancer", load_breast_cancer, "classification",
     dict(hidden_layer_sizes=(64,), learning_rate_init=0.001, max_iter=200)),
    ("wine", load_wine, "classification",
     dict(hidden_layer_sizes=(64,), learning_rate_init=0.001, max_iter=300)),
    ("diabetes", load_diabetes, "regression",
     dict(hidden_layer_sizes=(10,), learning_rate_init=0.01, max_iter=200, alpha=0.1)),
    ("iris (lbfgs)", load_iris, "classification",
     dict(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=200)),
    ("wine (lbfgs)", load_wine, "classification",
     dict(hidden_layer_sizes=(32,), solver="lbfgs", max_iter=200)),
    ("breast cancer (lbfgs)", load_breast_cancer, "classification",
     dict(hidden_layer_sizes=(32,), solver="lbfgs", max_iter=200, alpha=1.0)),
    ("diabetes (lbfgs)", load_diabetes, "regression",
     dict(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=200, alpha=1.0)),
    ("text-like, sparse", load_text_like, "classification",
     dict(hidden_layer_sizes=(64,), learning_rate_init=0.001, max_iter=10)),
]


def run(estimator, X_train, y_train, X_test, y_test):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        estimator.fit(X_train, y_train)
        seconds = time.perf_counter() - start
    return estimator.score(X_test, y_test), seconds, estimator.n_iter_


def compare(seeds: int) -> list[dict]:
    rows = []
    for name, load, task, params in DATASETS:
        X, y = load(return_X_y=True)
        results = {"fastbp": [], "sklearn": [], "fastbp32": []}
        for seed in range(seeds):
            X_train, X_test, y_train, y_test = train_test_split(
                X, y, test_size=0.25, random_state=seed,
                stratify=y if task == "classification" else None)
            if not sparse.issparse(X):  # (TF-IDF rows are already scaled)
                scaler = StandardScaler().fit(X_train)
                X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
            if task == "regression":
                y_mean, y_std = y_train.mean(), y_train.std()
                y_train, y_test = (y_train - y_mean) / y_std, (y_test - y_mean) / y_std
            ours = (MLPClassifier if task == "classification" else MLPRegressor)(
                random_state=seed, **params)
            ours32 = (MLPClassifier if task == "classification" else MLPRegressor)(
                random_state=seed, dtype="float32", **params)
            theirs = (SkClassifier if task == "classification" else SkRegressor)(
                random_state=seed, **params)
            # Alternate the order so neither library always runs on a warm cache.
            runs = [("fastbp", ours), ("sklearn", theirs), ("fastbp32", ours32)]
            for label, estimator in runs if seed % 2 == 0 else runs[::-1]:
                results[label].append(run(estimator, X_train, y_train, X_test, y_test))
        row = {"data set": name, "metric": "accuracy" if task == "classification" else "R^2",
               "n_train": X_train.shape[0]}
        for label, runs in results.items():
            scores, seconds, iters = zip(*runs)
            row[f"{label} score"] = float(np.mean(scores))
            row[f"{label} seconds"] = float(np.mean(seconds))
            row[f"{label} epochs"] = float(np.mean(iters))
        rows.append(row)
    return rows


def markdown(rows, seeds):
    lines = [f"Mean over {seeds} seeds (test split 25%, standardised dense inputs). fastbp and "
             f"scikit-learn in float64; fastbp-f32: the same estimator with dtype='float32'. "
             f"Adam unless the name says lbfgs; epochs are lbfgs's iterations.",
             "",
             "| data set | metric | fastbp | scikit-learn | difference | fastbp time | "
             "scikit-learn time | time ratio | fastbp-f32 score | fastbp-f32 time | "
             "epochs (fastbp / sklearn) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        diff = r["fastbp score"] - r["sklearn score"]
        unit = " pp" if r["metric"] == "accuracy" else ""
        scale = 100 if r["metric"] == "accuracy" else 1
        lines.append(
            f"| {r['data set']} | {r['metric']} | {r['fastbp score']:.4f} | "
            f"{r['sklearn score']:.4f} | {diff * scale:+.2f}{unit} | "
            f"{r['fastbp seconds'] * 1000:.1f} ms | {r['sklearn seconds'] * 1000:.1f} ms | "
            f"{r['fastbp seconds'] / r['sklearn seconds']:.3f} | "
            f"{r['fastbp32 score']:.4f} | {r['fastbp32 seconds'] * 1000:.1f} ms | "
            f"{r['fastbp epochs']:.0f} / {r['sklearn epochs']:.0f} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--results", type=Path,
                        help="also keep the rows, with the commit, CPU and versions, in this file "
                             "(bench/tables.py makes the README table from it)")
    args = parser.parse_args()
    rows = compare(args.seeds)
    print(markdown(rows, args.seeds))
    if args.results:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
        from compare import machine, settings, source_revision

        import fastbp
        import sklearn
        record = {"kind": "sklearn", "seeds": args.seeds, "rows": rows,
                  "command": " ".join([*settings(), "python", "examples/compare_with_sklearn.py",
                                       *sys.argv[1:]]),
                  "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  "commit": source_revision(), "machine": machine(),
                  "versions": {"fastbp": fastbp.__version__, "scikit-learn": sklearn.__version__,
                               "numpy": np.__version__}}
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(json.dumps(record, indent=1) + "\n")
        print(f"# results written to {args.results}")


if __name__ == "__main__":
    main()
