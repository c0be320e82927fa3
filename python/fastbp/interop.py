"""Conversion between `fastbp.MLP` and ``torch.nn.Sequential``. PyTorch is optional: it is
imported only here, and its absence is a clear ImportError."""

from __future__ import annotations

import numpy as np

_TORCH_ACTIVATIONS = {"relu": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh"}


def _torch():
    try:
        import torch
    except ImportError as exc:
        raise ImportError("this conversion needs PyTorch: pip install torch") from exc
    return torch


def _activation_module(nn, name):
    if name == "identity":
        return None
    if name == "leaky_relu":
        return nn.LeakyReLU(0.01)
    if name == "softmax":
        return nn.Softmax(dim=1)
    return getattr(nn, _TORCH_ACTIVATIONS[name])()


def to_torch(net):
    torch = _torch()
    nn = torch.nn
    dtype = torch.float32 if net.dtype == np.float32 else torch.float64
    modules = []
    last = len(net.weights) - 1
    for i, (W, b) in enumerate(zip(net.weights, net.biases)):
        linear = nn.Linear(W.shape[0], W.shape[1], dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.array(W.T)))
            linear.bias.copy_(torch.from_numpy(np.array(b)))
        modules.append(linear)
        act = _activation_module(nn, net.output if i == last else net.hidden)
        if act is not None:
            modules.append(act)
    return nn.Sequential(*modules)


def _activation_name(nn, module):
    if isinstance(module, nn.ReLU):
        return "relu"
    if isinstance(module, nn.LeakyReLU):
        if not np.isclose(module.negative_slope, 0.01):
            raise ValueError(f"model: LeakyReLU must have negative_slope 0.01 (fastbp's), got "
                             f"{module.negative_slope}")
        return "leaky_relu"
    if isinstance(module, nn.Sigmoid):
        return "sigmoid"
    if isinstance(module, nn.Tanh):
        return "tanh"
    if isinstance(module, nn.Softmax):
        if module.dim not in (1, -1):
            raise ValueError(f"model: Softmax must be over dim 1, got dim={module.dim}")
        return "softmax"
    if isinstance(module, nn.Identity):
        return "identity"
    raise ValueError(f"model: unsupported module {type(module).__name__}; expected Linear, "
                     f"ReLU, LeakyReLU, Sigmoid, Tanh, Softmax or Identity")


def from_torch(cls, model, loss=None):
    torch = _torch()
    nn = torch.nn
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model: expected a torch.nn.Sequential, got {type(model).__name__}")
    linears, activations = [], []
    for module in model:
        if isinstance(module, nn.Linear):
            linears.append(module)
            activations.append("identity")
        else:
            name = _activation_name(nn, module)
            if not linears:
                raise ValueError("model: must start with a Linear layer")
            if name != "identity":
                if activations[-1] != "identity":
                    raise ValueError("model: two activations in a row after one Linear layer")
                activations[-1] = name
    if not linears:
        raise ValueError("model: has no Linear layer")
    hidden_acts = set(activations[:-1])
    if len(hidden_acts) > 1:
        raise ValueError(f"model: fastbp uses one hidden activation for all hidden layers, "
                         f"this model has {sorted(hidden_acts)}")
    hidden = hidden_acts.pop() if hidden_acts else "relu"
    if hidden == "softmax":
        raise ValueError("model: softmax is only supported as the output activation")
    sizes = [linears[0].in_features]
    for i, linear in enumerate(linears):
        if linear.in_features != sizes[-1]:
            raise ValueError(f"model: Linear layer {i} takes {linear.in_features} inputs but "
                             f"the layer before gives {sizes[-1]}")
        if linear.bias is None:
            raise ValueError(f"model: Linear layer {i} has no bias; fastbp layers always do")
        sizes.append(linear.out_features)
    dtypes = {linear.weight.dtype for linear in linears}
    if dtypes - {torch.float32, torch.float64} or len(dtypes) != 1:
        raise ValueError(f"model: expected all weights float32 or all float64, got {dtypes}")
    dtype = "float64" if dtypes.pop() == torch.float64 else "float32"
    net = cls(sizes, hidden=hidden, output=activations[-1], loss=loss, dtype=dtype, seed=0)
    with torch.no_grad():
        for linear, W, b in zip(linears, net._weights, net._biases):
            weight = linear.weight.detach().cpu().numpy()
            bias = linear.bias.detach().cpu().numpy()
            if not (np.isfinite(weight).all() and np.isfinite(bias).all()):
                raise ValueError("model: weights contain NaN or infinity")
            W[...] = weight.T
            b[...] = bias
    return net
