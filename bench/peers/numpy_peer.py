"""The textbook backpropagation algorithm, written by hand in NumPy (float32)."""

import numpy as np

from .common import batches

LR = np.float32(0.01)


def _act(name, z):
    if name == "relu":
        return np.maximum(z, 0, out=z)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    return z


def _derivative(name, a):
    if name == "relu":
        return (a > 0).astype(a.dtype)
    if name == "sigmoid":
        return a * (1 - a)
    if name == "tanh":
        return 1 - a * a
    return np.ones_like(a)


def runner(w, data):
    rng = np.random.default_rng(0)
    Ws = [(rng.standard_normal((a, b)) * np.sqrt(2 / a)).astype(np.float32)
          for a, b in zip(w.layers[:-1], w.layers[1:])]
    bs = [np.zeros(b, np.float32) for b in w.layers[1:]]
    L = len(Ws)
    mu = np.float32(w.momentum)
    velocities = [np.zeros_like(p) for p in Ws + bs] if mu else None

    def step(X, T):
        acts = [X]
        for l in range(L):
            acts.append(_act(w.hidden if l < L - 1 else w.output, acts[-1] @ Ws[l] + bs[l]))
        y = acts[-1]
        delta = (y - T) / len(X)
        if w.loss == "mse":
            delta *= _derivative(w.output, y)
        for l in reversed(range(L)):
            gW = acts[l].T @ delta
            gb = delta.sum(axis=0)
            if l > 0:
                delta = (delta @ Ws[l].T) * _derivative(w.hidden, acts[l])
            if velocities is None:
                Ws[l] -= LR * gW
                bs[l] -= LR * gb
            else:  # V = mu V - lr G, W += V
                for p, v, g in ((Ws[l], velocities[l], gW), (bs[l], velocities[L + l], gb)):
                    v *= mu
                    v -= LR * g
                    p += v

    def run_epoch():
        b = w.batch
        for start in batches(data, b):
            step(data.X[start:start + b], data.T[start:start + b])
        return data.n // b * b
    return run_epoch
