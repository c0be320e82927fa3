"""Finite-difference check of the analytic gradients."""

from __future__ import annotations

import numpy as np

from . import _validation as check


def gradcheck(net, X, T, eps=None) -> float:
    """Largest relative error between ``net.gradients`` and central differences of ``net.loss``.

    For each parameter array the error is ``max|analytic - numeric|`` divided by the larger of
    ``max|analytic|`` and ``max|numeric|``; the result is the worst array. Every parameter is
    perturbed in place and restored bit for bit. Use a float64 network for tight checks
    (around 1e-8); float32 allows about 1e-2. A bfloat16 model is refused: its loss moves in
    steps of bfloat16's spacing as a weight changes, which central differences cannot follow.

    >>> import numpy as np, fastbp
    >>> net = fastbp.MLP([3, 5, 2], hidden="tanh", output="softmax", dtype="float64", seed=1)
    >>> X = np.random.default_rng(0).normal(size=(4, 3)); y = np.array([0, 1, 1, 0])
    >>> fastbp.gradcheck(net, X, y) < 1e-6
    True
    """
    from .mlp import MLP

    if not isinstance(net, MLP):
        raise TypeError(f"net: expected a fastbp.MLP, got {type(net).__name__}")
    if net.compute_dtype == "bfloat16":
        raise ValueError("net: gradcheck needs a float32 or float64 model, got a bfloat16 one "
                         "(its loss is piecewise constant at bfloat16's spacing); check a copy "
                         "made with dtype='float32' and the same weights")
    if eps is None:
        eps = 1e-6 if net.dtype == np.float64 else 1e-2
    eps = check.real("eps", eps, low=0, low_open=True)
    X = net._X(X)
    analytic_W, analytic_b = net.gradients(X, T)
    worst = 0.0
    for analytic, param in zip(analytic_W + analytic_b, net.weights + net.biases):
        flat = param.reshape(-1)
        numeric = np.empty(flat.size, dtype=np.float64)
        for i in range(flat.size):
            original = flat[i]
            # The step actually taken, after rounding to the parameter's dtype.
            high, low = flat.dtype.type(original + eps), flat.dtype.type(original - eps)
            flat[i] = high
            plus = net.loss(X, T)
            flat[i] = low
            minus = net.loss(X, T)
            flat[i] = original
            numeric[i] = (plus - minus) / (float(high) - float(low))
        a = analytic.reshape(-1).astype(np.float64)
        scale = max(np.abs(a).max(), np.abs(numeric).max(), np.finfo(np.float64).tiny)
        worst = max(worst, float(np.abs(a - numeric).max() / scale))
    return worst
