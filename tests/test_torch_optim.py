"""Every optimizer that torch.optim has, step by step against it with its PyTorch semantics
(weight decay included), in float64 on the same network, through both training paths (batch 1:
the online kernels; batch 16: the GEMM passes). fastbp decays weights, not biases (as
scikit-learn does), so PyTorch gets the biases in a parameter group without decay. Skipped where PyTorch is not installed (CI
installs its CPU build where the wheel lies on the machine); Lion, which torch.optim lacks, is
checked against tests/reference_optimizers.py and JAX instead."""

import numpy as np
import pytest

import fastbp
from conftest import make_data

torch = pytest.importorskip("torch")

CASES = [  # fastbp optimizer, the torch.optim one with the same semantics
    (fastbp.SGD(lr=0.05), lambda p: torch.optim.SGD(p, lr=0.05)),
    (fastbp.SGD(lr=0.05, weight_decay=0.1), lambda p: torch.optim.SGD(p, lr=0.05,
                                                                       weight_decay=0.1)),
    (fastbp.SGD(lr=0.05, momentum=0.9), lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    (fastbp.SGD(lr=0.05, momentum=0.9, weight_decay=0.1),
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=0.1)),
    (fastbp.SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (fastbp.Adam(lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    (fastbp.Adam(lr=0.01, beta1=0.8, beta2=0.99, epsilon=1e-6, weight_decay=0.1),
     lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    (fastbp.AdamW(lr=0.01, weight_decay=0.1),
     lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1)),
    (fastbp.RProp(step_init=0.01, eta_minus=0.5, eta_plus=1.2, step_min=1e-6, step_max=50.0),
     lambda p: torch.optim.Rprop(p, lr=0.01, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0))),
]


def torch_model(net):
    model = net.to_torch()
    return model, [m for m in model if isinstance(m, torch.nn.Linear)]


@pytest.mark.parametrize("batch", [1, 16])
@pytest.mark.parametrize("case", range(len(CASES)),
                         ids=[f"{type(c[0]).__name__}-{i}" for i, c in enumerate(CASES)])
def test_steps_match_torch_optim(case, batch):
    ours, make_theirs = CASES[case]
    rng = np.random.default_rng(case + batch)
    net = fastbp.MLP([6, 11, 3], hidden="tanh", output="softmax", dtype="float64", seed=4)
    model, linears = torch_model(net)
    # weight_decay set on the optimizer applies to the weights' group only
    groups = [{"params": [m.weight for m in linears]},
              {"params": [m.bias for m in linears], "weight_decay": 0.0}]
    theirs = make_theirs(groups)
    for step in range(6):
        X, T = make_data(rng, batch, 6, 3, "softmax_ce")
        theirs.zero_grad()
        z = model[:-1](torch.from_numpy(X))  # the logits: the softmax module is left out
        loss = -(torch.from_numpy(T) * torch.log_softmax(z, dim=1)).sum(dim=1).mean()
        loss.backward()
        theirs.step()
        got = net.train_step(X, T, optimizer=ours)
        np.testing.assert_allclose(got, loss.item(), rtol=1e-12, err_msg=f"loss of step {step}")
    for layer, linear in enumerate(linears):
        np.testing.assert_allclose(net.weights[layer], linear.weight.detach().numpy().T,
                                   rtol=1e-10, atol=1e-12, err_msg=f"W[{layer}]")
        np.testing.assert_allclose(net.biases[layer], linear.bias.detach().numpy(),
                                   rtol=1e-10, atol=1e-12, err_msg=f"b[{layer}]")
