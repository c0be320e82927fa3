"""Gradients against PyTorch autograd on the same network (skipped where torch is missing)."""

import numpy as np
import pytest

import fastbp
from conftest import make_data

torch = pytest.importorskip("torch")

ACT = {"identity": torch.nn.Identity, "relu": torch.nn.ReLU,
       "leaky_relu": lambda: torch.nn.LeakyReLU(0.01), "sigmoid": torch.nn.Sigmoid,
       "tanh": torch.nn.Tanh, "elu": torch.nn.ELU,
       # threshold above any input here: PyTorch returns z itself above its threshold
       "softplus": lambda: torch.nn.Softplus(threshold=1e4), "silu": torch.nn.SiLU,
       "gelu": torch.nn.GELU, "gelu_tanh": lambda: torch.nn.GELU(approximate="tanh")}


def torch_loss(net, X, T):
    layers = []
    for i, (W, b) in enumerate(zip(net.weights, net.biases)):
        linear = torch.nn.Linear(*W.shape).double()
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W.T.astype(np.float64)))
            linear.bias.copy_(torch.from_numpy(b.astype(np.float64)))
        layers.append(linear)
        if i < len(net.weights) - 1:
            layers.append(ACT[net.hidden]())
    model = torch.nn.Sequential(*layers)
    z = model(torch.from_numpy(X))
    t = torch.from_numpy(T)
    if net.loss_name == "softmax_ce":
        loss = -(t * torch.log_softmax(z, dim=1)).sum(dim=1).mean()
    elif net.loss_name == "bce":
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z, t, reduction="sum") / len(X)
    else:
        y = z if net.output == "identity" else ACT[net.output]()(z)
        if net.loss_name == "huber":  # summed over outputs, mean over samples, as fastbp's
            loss = torch.nn.functional.huber_loss(y, t, reduction="sum",
                                                  delta=net.huber_delta) / len(X)
        else:
            loss = 0.5 * ((y - t) ** 2).sum(dim=1).mean()
    loss.backward()
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    return (loss.item(), [m.weight.grad.numpy().T for m in linears],
            [m.bias.grad.numpy() for m in linears])


@pytest.mark.parametrize("hidden", list(ACT))
@pytest.mark.parametrize("output,loss", [("softmax", "softmax_ce"), ("sigmoid", "bce"),
                                         ("identity", "mse"), ("tanh", "mse"),
                                         ("identity", "huber"), ("gelu", "huber")])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gradients_match_torch_autograd(hidden, output, loss, dtype):
    rng = np.random.default_rng(0)
    net = fastbp.MLP([13, 17, 7, 4], hidden=hidden, output=output, loss=loss, dtype=dtype,
                     seed=2)
    X, T = make_data(rng, 9, 13, 4, loss)
    X = X.astype(dtype).astype(np.float64)
    expected_loss, expected_dW, expected_db = torch_loss(net, X, T)
    dW, db = net.gradients(X, T)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(net.loss(X, T), expected_loss, **tol)
    for layer in range(len(dW)):
        np.testing.assert_allclose(dW[layer], expected_dW[layer], err_msg=f"dW[{layer}]", **tol)
        np.testing.assert_allclose(db[layer], expected_db[layer], err_msg=f"db[{layer}]", **tol)
