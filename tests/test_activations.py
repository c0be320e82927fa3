"""Every activation and its derivative over a grid of inputs from -40 to 40 (the vector math's
ranges: exp's saturation, erf's series, log1p's series, tanh's two branches), at every kernel
level, against the independent formulas of tests/reference.py."""

import numpy as np
import pytest

import fastbp
from reference import activate, derivative

ELEMENT_WISE = ["identity", "relu", "leaky_relu", "sigmoid", "tanh", "elu", "softplus", "silu",
                "gelu", "gelu_tanh"]
NEEDS_Z = {"silu", "gelu", "gelu_tanh"}
# Odd length: full vectors and a masked tail at every width.
GRID = np.concatenate([np.linspace(-40, 40, 301), [-1e-7, -1e-30, 0.0, 1e-30, 1e-7, 0.6249,
                                                    0.6251, 5.9, 6.1]])
TOLERANCE = {np.float32: 3e-6, np.float64: 2e-13}


def _close(got, want, dtype, what):
    # relative where the value is large, absolute (against 1) near zero
    err = np.abs(got.astype(np.float64) - want) / np.maximum(1.0, np.abs(want))
    worst = int(np.argmax(err))
    assert err[worst] <= TOLERANCE[dtype], (
        f"{what}: at z = {GRID[worst]!r} got {got[worst]!r}, expected {want[worst]!r} "
        f"(error {err[worst]:.2e})")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ELEMENT_WISE)
def test_activation_values_over_a_wide_grid(activation, dtype, simd_level):
    z = GRID.astype(dtype)
    # one sample whose weights are the grid: x @ W + b = z exactly
    a = fastbp.dense_forward(np.ones((1, 1), dtype), z.reshape(1, -1), np.zeros(len(z), dtype),
                             activation)
    _close(a.ravel(), activate(activation, z.astype(np.float64)), dtype,
           f"{activation} ({simd_level})")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ELEMENT_WISE)
def test_activation_derivatives_over_a_wide_grid(activation, dtype, simd_level):
    z = GRID.astype(dtype)
    x, W, b = np.ones((1, 1), dtype), z.reshape(1, -1).copy(), np.zeros(len(z), dtype)
    a, pre = fastbp.dense_forward(x, W, b, activation, return_preactivation=True)
    # with x = 1 and grad_a = 1, grad_W[0, j] = act'(z_j)
    _, grad_W, _ = fastbp.dense_backward(np.ones_like(a), x, W, a, activation,
                                         z=pre if activation in NEEDS_Z else None)
    want = derivative(activation, z.astype(np.float64))
    if activation in ("relu", "leaky_relu"):
        want[z == 0] = derivative(activation, np.array([-1.0]))[0]  # y = 0 there: the left side
    _close(grad_W.ravel(), want, dtype, f"{activation}' ({simd_level})")
