"""MLP <-> torch.nn.Sequential."""

import builtins

import numpy as np
import pytest

import fastbp


@pytest.mark.parametrize("hidden", ["relu", "leaky_relu", "sigmoid", "tanh", "identity", "elu",
                                    "softplus", "silu", "gelu", "gelu_tanh"])
@pytest.mark.parametrize("output", ["identity", "softmax", "sigmoid", "tanh", "gelu", "exp"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_to_torch_computes_the_same_function(hidden, output, dtype):
    torch = pytest.importorskip("torch")
    net = fastbp.MLP([5, 7, 3, 2], hidden=hidden, output=output, dtype=dtype, seed=1)
    X = np.random.default_rng(0).normal(size=(9, 5)).astype(dtype)
    model = net.to_torch()
    with torch.no_grad():
        got = model(torch.from_numpy(X)).numpy()
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(got, net.predict(X), rtol=tol, atol=tol)
    back = fastbp.MLP.from_torch(model)
    assert (back.layers, back.hidden if hidden != "identity" else "identity", back.output,
            back.dtype) == (net.layers, hidden, output, net.dtype)
    np.testing.assert_array_equal(back.predict(X), net.predict(X))


def test_from_torch_builds_a_trainable_model():
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3),
                                torch.nn.Softmax(dim=1))
    net = fastbp.MLP.from_torch(model)
    assert net.loss_name == "softmax_ce"
    X = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    with torch.no_grad():
        np.testing.assert_allclose(net.predict(X), model(torch.from_numpy(X)).numpy(),
                                   rtol=1e-5, atol=1e-6)
    history = net.fit(X, np.arange(20) % 3, epochs=20, lr=0.1)
    assert history.loss[-1] < history.loss[0]


def test_from_torch_rejects_what_it_cannot_represent():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    cases = [
        (nn.Linear(3, 2), TypeError, "Sequential"),
        (nn.Sequential(nn.ReLU(), nn.Linear(3, 2)), ValueError, "start with a Linear"),
        (nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 1)),
         ValueError, "one hidden activation"),
        (nn.Sequential(nn.Linear(3, 4), nn.Linear(5, 1)), ValueError, "takes 5 inputs"),
        (nn.Sequential(nn.Linear(3, 4, bias=False)), ValueError, "no bias"),
        (nn.Sequential(nn.Linear(3, 4), nn.Mish()), ValueError, "unsupported module Mish"),
        (nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.2)), ValueError, "negative_slope"),
        (nn.Sequential(nn.Linear(3, 4).half()), ValueError, "float32 or all float64"),
        (nn.Sequential(), ValueError, "no Linear"),
    ]
    for model, error, match in cases:
        with pytest.raises(error, match=match):
            fastbp.MLP.from_torch(model)


def test_missing_torch_is_a_clear_import_error(monkeypatch):
    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("No module named 'torch'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    with pytest.raises(ImportError, match="pip install torch"):
        fastbp.MLP([2, 1]).to_torch()
