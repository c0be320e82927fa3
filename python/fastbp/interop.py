"""Conversion between `fastbp.MLP` and ``torch.nn.Sequential``. PyTorch is optional: it is
imported only here, and its absence is a clear ImportError. Which module computes which
activation comes from the core's activation table (each activation's descriptor names its
``torch.nn`` counterpart and the arguments that make it the same function)."""

from __future__ import annotations

import numpy as np

from ._descriptors import ACTIVATIONS, arguments as _arguments


def _torch():
    try:
        import torch
    except ImportError as exc:
        raise ImportError("this conversion needs PyTorch; for its CPU build (about 200 MB "
                          "instead of several GB): pip install torch --index-url "
                          "https://download.pytorch.org/whl/cpu") from exc
    return torch


def _fastbp_modules(nn) -> dict:
    """Modules for the activations torch.nn has none of, by the name the table gives."""
    class Exp(nn.Module):
        """exp(z): the output of a Poisson (log-link) model."""

        def forward(self, z):
            return z.exp()
    return {"Exp": Exp}


def _activation_module(nn, name):
    entry = ACTIVATIONS[name]
    if not entry["torch_module"]:
        return None
    module = getattr(nn, entry["torch_module"], None) or _fastbp_modules(nn)[entry["torch_module"]]
    return module(**_arguments(entry["torch_arguments"]))


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


def _matches(module, arguments: dict) -> bool:
    """The module's attributes have the values the table gives (Softmax: dim 1 or -1)."""
    for key, value in arguments.items():
        got = getattr(module, key, None)
        if key == "dim":
            if got not in (1, -1):
                return False
        elif isinstance(value, float):
            if not isinstance(got, (int, float)) or not np.isclose(got, value):
                return False
        elif got != value:
            return False
    return True


def _activation_name(nn, module):
    if isinstance(module, nn.Identity):
        return "identity"
    candidates = [entry for entry in ACTIVATIONS.values()
                  if entry["torch_module"] == type(module).__name__]
    for entry in candidates:
        if _matches(module, _arguments(entry["torch_arguments"])):
            return entry["name"]
    if candidates:
        wanted = " or ".join(f"{c['torch_module']}({c['torch_arguments']})" for c in candidates)
        raise ValueError(f"model: {module!r} is not one of fastbp's activations; fastbp has "
                         f"{wanted}")
    supported = sorted({e["torch_module"] for e in ACTIVATIONS.values() if e["torch_module"]})
    raise ValueError(f"model: unsupported module {type(module).__name__}; expected Linear, "
                     f"Identity or one of {', '.join(supported)}")


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
