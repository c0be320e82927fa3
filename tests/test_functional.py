"""The functional fused ops against NumPy."""

import numpy as np
import pytest

import fastbp
from reference import activate, derivative

ACTIVATIONS = ["identity", "relu", "leaky_relu", "sigmoid", "tanh", "elu", "softplus", "silu",
               "gelu", "gelu_tanh", "softmax"]
NEEDS_Z = {"silu", "gelu", "gelu_tanh"}
SHAPES = [(1, 1, 1), (1, 784, 128), (7, 17, 129), (64, 300, 33), (5, 3, 2100)]


def _layer(rng, n, n_in, n_out, dtype):
    return (rng.normal(size=(n, n_in)).astype(dtype), rng.normal(size=(n_in, n_out)).astype(dtype) / 4,
            rng.normal(size=n_out).astype(dtype))


def _tol(dtype):
    return dict(rtol=3e-4, atol=3e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("shape", SHAPES)
def test_dense_forward(dtype, activation, shape, threads):
    rng = np.random.default_rng(sum(shape))
    x, W, b = _layer(rng, *shape, dtype)
    a = fastbp.dense_forward(x, W, b, activation)
    assert a.dtype == dtype and a.shape == (shape[0], shape[2])
    expected = activate(activation, x.astype(np.float64) @ W + b)
    np.testing.assert_allclose(a, expected, **_tol(dtype))
    threads.assert_used()


def _expected_backward(grad_a, x, W, b, activation):
    z = x.astype(np.float64) @ W + b
    if activation == "softmax":
        y = activate("softmax", z)
        grad_z = y * (grad_a - (grad_a * y).sum(axis=1, keepdims=True))
    else:
        grad_z = grad_a * derivative(activation, z)
    return grad_z @ W.T.astype(np.float64), x.T.astype(np.float64) @ grad_z, grad_z.sum(axis=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("shape", SHAPES)
def test_dense_backward(dtype, activation, shape, threads):
    rng = np.random.default_rng(sum(shape) + 1)
    x, W, b = _layer(rng, *shape, dtype)
    a, z = fastbp.dense_forward(x, W, b, activation, return_preactivation=True)
    np.testing.assert_allclose(z, x.astype(np.float64) @ W + b, **_tol(dtype))
    grad_a = rng.normal(size=a.shape).astype(dtype)
    gx, gW, gb = fastbp.dense_backward(grad_a, x, W, a, activation,
                                       z=z if activation in NEEDS_Z else None)
    ex, eW, eb = _expected_backward(grad_a, x, W, b, activation)
    tol = _tol(dtype)
    for name, got, want in (("grad_x", gx, ex), ("grad_W", gW, eW), ("grad_b", gb, eb)):
        scale = max(1.0, np.abs(want).max())
        np.testing.assert_allclose(got, want, rtol=tol["rtol"], atol=tol["atol"] * scale,
                                   err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ["relu", "sigmoid", "softmax"])
@pytest.mark.parametrize("shape", SHAPES)
def test_dense_backward_sgd_updates_in_place(dtype, activation, shape, threads):
    rng = np.random.default_rng(sum(shape) + 2)
    x, W, b = _layer(rng, *shape, dtype)
    a = fastbp.dense_forward(x, W, b, activation)
    grad_a = rng.normal(size=a.shape).astype(dtype)
    ex, eW, eb = _expected_backward(grad_a, x, W, b, activation)
    W0, b0 = W.astype(np.float64), b.astype(np.float64)
    gx = fastbp.dense_backward_sgd(grad_a, x, W, b, a, activation, lr=0.1)
    tol = _tol(dtype)
    scale = max(1.0, np.abs(eW).max())
    np.testing.assert_allclose(gx, ex, rtol=tol["rtol"], atol=tol["atol"] * max(1, np.abs(ex).max()))
    np.testing.assert_allclose(W, W0 - 0.1 * eW, rtol=tol["rtol"], atol=tol["atol"] * scale)
    np.testing.assert_allclose(b, b0 - 0.1 * eb, rtol=tol["rtol"], atol=tol["atol"] * scale)


def test_float64_wins_when_dtypes_mix():
    x = np.ones((2, 3), np.float32)
    W = np.ones((3, 2), np.float64)
    assert fastbp.dense_forward(x, W, np.zeros(2), "identity").dtype == np.float64


def test_non_contiguous_inputs_are_handled():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 8))[:, ::2]
    W = rng.normal(size=(5, 4)).T  # (4, 5), Fortran order
    b = rng.normal(size=10)[::2]
    np.testing.assert_allclose(fastbp.dense_forward(x, W, b, "tanh"), np.tanh(x @ W + b),
                               rtol=1e-12)
