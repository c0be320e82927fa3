"""Analytic gradients against central finite differences (float64) and against the independent
NumPy reference, for every activation x loss pairing, on odd sizes."""

import zlib

import numpy as np
import pytest

import fastbp
from fastbp import _core
from conftest import assert_close, make_data, reference_of

HIDDEN = ["identity", "relu", "leaky_relu", "sigmoid", "tanh", "elu", "softplus", "silu", "gelu",
          "gelu_tanh"]
# (output activation, loss): every pairing the library supports
OUTPUT_LOSS = [("softmax", "softmax_ce"), ("sigmoid", "bce"), ("exp", "poisson"),
               ("exp", "mse")] + [(out, loss) for out in HIDDEN for loss in ("mse", "huber")]


def randomise_biases(net, rng):
    """Zero biases behind dead rectifiers put pre-activations exactly on the kink at 0, where a
    central difference sees half a slope; random biases keep every point differentiable."""
    for b in net.biases:
        b[...] = rng.normal(scale=0.1, size=b.shape)


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("output,loss", OUTPUT_LOSS)
def test_gradcheck_every_activation_and_loss(hidden, output, loss):
    rng = np.random.default_rng(zlib.crc32(f"{hidden}/{output}/{loss}".encode()))
    n_out = 3
    net = fastbp.MLP([5, 7, 3, n_out], hidden=hidden, output=output, loss=loss,
                     dtype="float64", seed=3)
    randomise_biases(net, rng)
    X, T = make_data(rng, 5, 5, n_out, loss)
    err = fastbp.gradcheck(net, X, T)
    assert err < 1e-6, f"{hidden}/{output}/{loss}: relative gradient error {err:.2e}"


@pytest.mark.parametrize("layers", [[1, 1], [3, 1, 2], [7, 17, 3], [17, 129, 7], [1, 7, 17, 1]])
@pytest.mark.parametrize("batch", [1, 5, 64])
def test_gradcheck_odd_sizes(layers, batch):
    rng = np.random.default_rng(batch * 1000 + sum(layers))
    output = "softmax" if layers[-1] >= 2 else "sigmoid"
    net = fastbp.MLP(layers, hidden="tanh", output=output, dtype="float64", seed=batch)
    X, T = make_data(rng, batch, layers[0], layers[-1], net.loss_name)
    err = fastbp.gradcheck(net, X, T)
    assert err < 1e-6, f"layers {layers}, batch {batch}: relative gradient error {err:.2e}"


def test_gradcheck_with_class_labels():
    rng = np.random.default_rng(0)
    net = fastbp.MLP([4, 9, 5], hidden="sigmoid", output="softmax", dtype="float64", seed=0)
    X, labels = make_data(rng, 11, 4, 5, "softmax_ce", labels=True)
    assert fastbp.gradcheck(net, X, labels) < 1e-6


def test_softmax_ce_gradient_is_exact_for_targets_not_summing_to_one():
    rng = np.random.default_rng(5)
    net = fastbp.MLP([3, 4, 3], hidden="tanh", output="softmax", dtype="float64", seed=0)
    X = rng.normal(size=(6, 3))
    T = rng.uniform(0, 1, size=(6, 3))  # soft targets with arbitrary row sums
    assert fastbp.gradcheck(net, X, T) < 1e-6


def test_float32_gradcheck_is_loose_but_sane():
    rng = np.random.default_rng(1)
    net = fastbp.MLP([4, 8, 3], hidden="tanh", output="softmax", dtype="float32", seed=0)
    X, T = make_data(rng, 8, 4, 3, "softmax_ce")
    assert fastbp.gradcheck(net, X, T) < 2e-2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("hidden,output,loss", [
    ("relu", "softmax", "softmax_ce"), ("tanh", "sigmoid", "bce"), ("sigmoid", "identity", "mse"),
    ("leaky_relu", "tanh", "mse"), ("gelu", "identity", "huber"), ("silu", "softmax", "softmax_ce"),
    ("elu", "sigmoid", "bce"), ("softplus", "gelu_tanh", "mse"), ("gelu_tanh", "silu", "huber")])
@pytest.mark.parametrize("layers,batch", [([7, 17, 3], 1), ([37, 129, 65, 3], 7),
                                          ([300, 40, 33], 70), ([9, 2100, 4], 3)])
def test_gradients_match_numpy_reference(dtype, hidden, output, loss, layers, batch, threads,
                                         simd_level):
    rng = np.random.default_rng(batch + len(layers))
    net = fastbp.MLP(layers, hidden=hidden, output=output, loss=loss, dtype=dtype, seed=11)
    X, T = make_data(rng, batch, layers[0], layers[-1], loss)
    ref = reference_of(net)
    X, T = X.astype(dtype), T.astype(dtype)
    dW, db = net.gradients(X, T)
    ref_dW, ref_db = ref.gradients(X, T)
    for layer in range(len(dW)):
        assert_close(dW[layer], ref_dW[layer], dtype, f"dW[{layer}] ({simd_level})")
        assert_close(db[layer], ref_db[layer], dtype, f"db[{layer}] ({simd_level})")
    if batch > 1:
        threads.assert_used()
    else:  # one sample of a small network: the online kernels, where a GEMM would start a team
        _core.reset_threads_used()  # (the ready call's finiteness scan may use one)
        net._net.gradients(X, T, None, None)
        assert _core.threads_used() <= 1
