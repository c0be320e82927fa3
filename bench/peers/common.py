"""What every peer shares: the workload's data and how to walk its mini-batches."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Workload:
    name: str
    layers: list
    hidden: str
    output: str
    loss: str
    batch: int
    momentum: float = 0.0  # classical momentum: V = mu V - lr G, W += V

    @property
    def n_weights(self) -> int:
        return sum(a * b + b for a, b in zip(self.layers[:-1], self.layers[1:]))

    @property
    def real_flops_per_sample(self) -> int:
        """What a train step computes: forward, weight gradients, and the input gradients of
        every layer but the first (2 flops per multiply-add; biases and activations omitted)."""
        products = [a * b for a, b in zip(self.layers[:-1], self.layers[1:])]
        return 2 * sum(products) * 3 - 2 * products[0]


@dataclass
class Data:
    X: np.ndarray          # (n, n_in) float32, standard normal
    labels: np.ndarray     # (n,) int64 for softmax_ce, else None
    T: np.ndarray          # (n, n_out) float32 targets (one-hot for softmax_ce)

    @property
    def n(self) -> int:
        return len(self.X)


def make_data(workload: Workload, n_samples: int, seed: int = 0) -> Data:
    rng = np.random.default_rng(seed)
    n_in, n_out = workload.layers[0], workload.layers[-1]
    X = rng.standard_normal((n_samples, n_in), dtype=np.float32)
    if workload.loss == "softmax_ce":
        labels = rng.integers(0, n_out, n_samples)
        return Data(X, labels, np.eye(n_out, dtype=np.float32)[labels])
    T = rng.standard_normal((n_samples, n_out), dtype=np.float32)
    if workload.output == "sigmoid":
        T = (T > 0).astype(np.float32)
    return Data(X, None, T)


def batches(data: Data, batch: int):
    """Start indices of the full mini-batches of one epoch."""
    return range(0, data.n - batch + 1, batch)
