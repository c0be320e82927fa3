import os
import sys

import numpy as np
import pytest

import fastbp
from fastbp import _core

sys.path.insert(0, os.path.dirname(__file__))

from reference import ReferenceMLP  # noqa: E402


def available_simd_levels():
    """Every kernel level this CPU can run, the scalar reference set first."""
    levels = []
    for level in ("reference", "portable", "avx2", "avx512"):
        try:
            _core.set_simd_level(level)
        except ValueError:
            continue
        levels.append(level)
    return levels


SIMD_LEVELS = available_simd_levels()
_core.set_simd_level(SIMD_LEVELS[-1])


@pytest.fixture(params=SIMD_LEVELS)
def simd_level(request):
    best = fastbp.simd_level()
    _core.set_simd_level(request.param)
    yield request.param
    _core.set_simd_level(best)


class Threads:
    """What the `threads` fixture set: `n` threads, the parallel threshold at 0 (every kernel
    that may run threads does, however small the test's data), and `assert_used()` to check that
    a kernel really ran as many as it could (at most the processors)."""

    def __init__(self, n):
        self.n = n
        self.expected = min(n, os.cpu_count() or 1)

    def assert_used(self):
        used = _core.threads_used()
        assert used == self.expected, (f"the threaded paths were not taken: the largest team "
                                       f"had {used} thread(s), expected {self.expected}")


@pytest.fixture(params=[1, 2, 3], ids=["1thread", "2threads", "3threads"])
def threads(request):
    before = fastbp.get_num_threads()
    fastbp.set_num_threads(request.param)
    fastbp.parallel.set_parallel_threshold(0)
    fastbp.parallel.set_adapt_to_load(False)  # a loaded CI machine must not skip the threads
    _core.reset_threads_used()
    yield Threads(request.param)
    fastbp.parallel.set_adapt_to_load(True)
    fastbp.parallel.set_parallel_threshold(None)
    fastbp.set_num_threads(before)


def reference_of(net, operand=None):
    """The float64 reference of `net`; `operand` as ReferenceMLP takes it."""
    return ReferenceMLP(net.weights, net.biases, net.hidden, net.output, net.loss_name,
                        net.huber_delta, operand=operand)


def make_data(rng, n, n_in, n_out, loss, labels=False):
    X = rng.normal(size=(n, n_in))
    if loss == "softmax_ce":
        y = rng.integers(0, n_out, size=n)
        if labels:
            return X, y
        return X, np.eye(n_out)[y]
    if loss == "bce":
        return X, rng.integers(0, 2, size=(n, n_out)).astype(np.float64)
    if loss == "huber":  # wide enough targets that some errors exceed delta and some do not
        return X, 3 * rng.normal(size=(n, n_out))
    if loss == "poisson":  # counts, zeros included
        return X, rng.poisson(1.5, size=(n, n_out)).astype(np.float64)
    return X, rng.normal(size=(n, n_out))


TOLERANCE = {np.float32: dict(rtol=2e-4, atol=2e-5), np.float64: dict(rtol=1e-9, atol=1e-11)}


def assert_close(actual, expected, dtype, what):
    tol = TOLERANCE[np.dtype(dtype).type]
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    scale = max(np.abs(expected).max(), 1.0) if expected.size else 1.0
    err = np.abs(actual - expected).max() if expected.size else 0.0
    assert err <= tol["atol"] + tol["rtol"] * scale, (
        f"{what}: max abs difference {err:.3e} exceeds tolerance (scale {scale:.3e}, {dtype})")


def assert_steps_match_reference(net, rng, steps, batch, lr, momentum, alternate_labels=False):
    """Runs `steps` train_steps on random batches and the same SGD steps on the float64
    reference, comparing each loss and the final parameters."""
    layers, dtype = net.layers, net.dtype.type
    ref = reference_of(net)
    velocity = None
    for step in range(steps):
        X, T = make_data(rng, batch, layers[0], layers[-1], net.loss_name,
                         labels=alternate_labels and step % 2 == 0)
        X = X.astype(dtype)
        got = net.train_step(X, T, lr=lr, momentum=momentum)
        want, velocity = ref.sgd_step(X, T, lr=lr, momentum=momentum, velocity=velocity)
        assert_close(got, want, dtype, f"loss of step {step}")
    for layer in range(len(ref.W)):
        assert_close(net.weights[layer], ref.W[layer], dtype, f"W[{layer}] after {steps} steps")
        assert_close(net.biases[layer], ref.b[layer], dtype, f"b[{layer}] after {steps} steps")
