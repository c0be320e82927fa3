"""What data-parallel training rests on, in one process: a step from a given gradient equals
the fused step, and settings that cannot work are refused before any collective
(tests/distributed trains over MPI)."""

import numpy as np
import pytest

import fastbp
from fastbp.distributed import LocalSGD

OPTIMIZERS = [
    fastbp.SGD(lr=0.1),
    fastbp.SGD(lr=0.1, momentum=0.9),
    fastbp.SGD(lr=0.1, momentum=0.9, nesterov=True),
    fastbp.SGD(lr=0.1, weight_decay=0.01),
    fastbp.Adam(lr=0.01),
    fastbp.AdamW(lr=0.01, weight_decay=0.1),
    fastbp.Lion(lr=0.001),
    fastbp.RProp(),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=repr)
@pytest.mark.parametrize("layers", [[7, 17, 3], [1, 1, 2], [129, 33, 7, 3]])
def test_a_step_from_a_given_gradient_is_the_fused_step(layers, optimizer, dtype):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(23, layers[0]))
    y = rng.integers(0, layers[-1], 23)
    fused = fastbp.MLP(layers, output="softmax", seed=1, dtype=dtype)
    given = fastbp.MLP(layers, output="softmax", seed=1, dtype=dtype)
    for _ in range(4):
        fused.train_step(X, y, optimizer=optimizer)
        gradient, _ = given._net.gradients(given._X(X), *given._T(y, 23), None)
        given._net.apply_gradient(gradient, optimizer._core)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(given._net.parameters(), fused._net.parameters(), rtol=tol,
                               atol=tol)


def test_apply_gradient_refuses_a_gradient_of_the_wrong_size():
    net = fastbp.MLP([3, 4, 2])
    with pytest.raises(ValueError, match=f"expected {net._net.n_parameters} values"):
        net._net.apply_gradient(np.zeros(5), fastbp.SGD()._core)


def test_sharding_without_a_communicator_is_refused():
    X, y = np.zeros((4, 3)), np.zeros((4, 2))
    for kwargs in ({"shard": "local"}, {"sync": LocalSGD(every=2)}):
        with pytest.raises(ValueError, match="give comm"):
            fastbp.MLP([3, 2]).fit(X, y, **kwargs)


def test_a_communicator_is_checked_before_use():
    X, y = np.zeros((4, 3)), np.zeros((4, 2))
    with pytest.raises(TypeError, match="mpi4py communicator"):
        fastbp.MLP([3, 2]).fit(X, y, comm=object())
    with pytest.raises(ValueError, match="LBFGS trains in one process"):
        fastbp.MLP([3, 2]).fit(X, y, optimizer=fastbp.LBFGS(), comm=object())
    with pytest.raises(ValueError, match="every"):
        LocalSGD(every=0)
