"""Train an MLP on scikit-learn's handwritten digits and report accuracy and speed.

    python -m fastbp.demo [--epochs 40] [--batch-size 32] [--dtype float32] [--threads N]

The digits data set (1,797 8x8 images) ships inside scikit-learn; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import fastbp


def load_digits_split(seed: int):
    try:
        from sklearn.datasets import load_digits
    except ImportError:  # pragma: no cover - depends on the environment
        sys.exit("the demo needs scikit-learn for its bundled digits data: "
                 "pip install 'fastbp[examples]'")
    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(X))
    n_train = int(0.8 * len(X))
    return X[order[:n_train]], y[order[:n_train]], X[order[n_train:]], y[order[n_train:]]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--hidden", type=int, nargs="+", default=[128])
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64", "bfloat16"])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.threads is not None:
        fastbp.set_num_threads(args.threads)

    X_train, y_train, X_test, y_test = load_digits_split(args.seed)
    net = fastbp.MLP([X_train.shape[1], *args.hidden, 10], hidden="relu", output="softmax",
                     dtype=args.dtype, seed=args.seed)
    print(f"fastbp {fastbp.__version__}: {net}")
    print(f"digits: {len(X_train)} training / {len(X_test)} test images; SIMD "
          f"{fastbp.simd_level()}, {fastbp.get_num_threads()} thread(s)")

    start = time.perf_counter()
    history = net.fit(X_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
                      lr=args.lr, momentum=args.momentum, seed=args.seed,
                      validation_data=(X_test, y_test), verbose=args.verbose)
    wall = time.perf_counter() - start
    train_seconds = sum(history.seconds)
    accuracy = float((net.predict(X_test).argmax(axis=1) == y_test).mean())
    samples = args.epochs * len(X_train)
    print(f"trained {args.epochs} epochs in {wall:.3f} s "
          f"({train_seconds:.3f} s in training steps, the rest validation)")
    print(f"final training loss {history.loss[-1]:.4f}, test loss {history.val_loss[-1]:.4f}")
    print(f"test accuracy: {accuracy:.4f}")
    print(f"training throughput: {samples / train_seconds:,.0f} samples/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
