"""Online training (batch_size=1) in runs of samples: plain SGD's grouped sweeps of a first layer
of 4096 weights or more (its update applied four samples at a time, each sample's product
corrected for the earlier ones of its group), the team that shares out every step's layers, and
how both stop on a non-finite loss."""

import numpy as np
import pytest

import fastbp
from fastbp import _core
from conftest import make_data

# First layers of 4096 weights or more (grouped with plain SGD), in odd widths: one layer, a
# one-column output, a hidden layer narrower than one register block.
GROUPED = [([129, 37, 3], "tanh", "softmax"),
           ([65, 65, 1], "relu", "identity"),
           ([300, 17], "relu", "softmax"),
           ([70, 129, 7, 2], "sigmoid", "sigmoid")]
TOLERANCE = {"float32": dict(rtol=2e-4, atol=2e-6), "float64": dict(rtol=1e-11, atol=1e-13)}


def loss_of(output):
    return {"softmax": "softmax_ce", "sigmoid": "bce", "identity": "mse"}[output]


def data(layers, output, n, seed=8):
    rng = np.random.default_rng(seed)
    return make_data(rng, n, layers[0], layers[-1], loss_of(output))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", [1, 3, 37])  # a short group alone, and groups ending in one
@pytest.mark.parametrize("layers,hidden,output", GROUPED)
def test_grouped_online_fit_equals_train_steps(dtype, n, layers, hidden, output):
    X, T = data(layers, output, n)
    X /= np.sqrt(layers[0])  # products of order one, so that rounding is not amplified
    grouped = fastbp.MLP(layers, hidden=hidden, output=output, dtype=dtype, seed=2)
    stepped = fastbp.MLP(layers, hidden=hidden, output=output, dtype=dtype, seed=2)
    history = grouped.fit(X, T, epochs=2, batch_size=1, lr=0.05, shuffle=False)
    losses = [np.mean([stepped.train_step(X[i:i + 1], T[i:i + 1], lr=0.05) for i in range(n)])
              for _ in range(2)]
    for a, b in zip(grouped.weights + grouped.biases, stepped.weights + stepped.biases):
        np.testing.assert_allclose(a, b, **TOLERANCE[dtype])
    np.testing.assert_allclose(history.loss, losses, **TOLERANCE[dtype])


def test_grouped_online_fit_with_sample_weights_equals_weighted_train_steps():
    layers = [129, 37, 3]
    X, T = data(layers, "softmax", 23)
    X /= np.sqrt(layers[0])
    weights = np.random.default_rng(3).uniform(0.5, 2.0, size=23)
    weights[[5, 6, 13]] = 0.0  # zero weights inside groups: no update, no loss
    grouped = fastbp.MLP(layers, output="softmax", dtype="float64", seed=2)
    stepped = fastbp.MLP(layers, output="softmax", dtype="float64", seed=2)
    grouped.fit(X, T, epochs=1, batch_size=1, lr=0.05, shuffle=False, sample_weight=weights)
    for i in np.flatnonzero(weights):  # plain SGD leaves a sample of weight zero out
        stepped.train_step(X[i:i + 1], T[i:i + 1], lr=0.05, sample_weight=weights[i:i + 1])
    for a, b in zip(grouped.weights + grouped.biases, stepped.weights + stepped.biases):
        np.testing.assert_allclose(a, b, **TOLERANCE["float64"])


TEAM = GROUPED + [([33, 7, 17, 1], "relu", "identity")]  # below 4096: ungrouped on a team


def fit_on_one_thread_and_team(threads, layers, X, T, *, hidden="relu", output="softmax",
                               dtype="float64", **fit):
    """The same fit on one thread and on the fixture's threads (asserting the team it used):
    the two models, whose weights and losses must then be the same, bit for bit."""
    one = fastbp.MLP(layers, hidden=hidden, output=output, dtype=dtype, seed=2)
    team = fastbp.MLP(layers, hidden=hidden, output=output, dtype=dtype, seed=2)
    fastbp.set_num_threads(1)
    expected = one.fit(X, T, **fit).loss
    fastbp.set_num_threads(threads.n)
    _core.reset_threads_used()
    got = team.fit(X, T, **fit).loss
    threads.assert_used()
    np.testing.assert_array_equal(got, expected)
    for a, b in zip(team.weights + team.biases, one.weights + one.biases):
        np.testing.assert_array_equal(a, b)
    return one


@pytest.mark.parametrize("momentum", [0.0, 0.5])  # grouped, and the fused one-sample update
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("layers,hidden,output", TEAM)
def test_online_fit_on_a_team_equals_one_thread(threads, dtype, momentum, layers, hidden,
                                                output):
    """A team shares out whole register blocks of every layer, each computed as on one thread:
    the weights are the same, bit for bit."""
    X, T = data(layers, output, 37)
    X /= np.sqrt(layers[0])
    fit_on_one_thread_and_team(threads, layers, X, T, hidden=hidden, output=output, dtype=dtype,
                               epochs=2, batch_size=1, lr=0.05, momentum=momentum, seed=4)


@pytest.mark.parametrize("momentum", [0.0, 0.5])
@pytest.mark.parametrize("layers", [[129, 37, 1], [33, 7, 17, 1]])
def test_online_run_stops_at_the_sample_with_an_infinite_loss(threads, momentum, layers):
    """Sample 7 (the third of the second group) overflows the loss: fit names it, and puts back
    the weights from the start of the epoch, whatever the earlier samples of its group did."""
    X, T = data(layers, "identity", 20)
    X /= np.sqrt(layers[0])
    X[6] = 1e38  # its hidden outputs overflow float32
    net = fastbp.MLP(layers, hidden="relu", output="identity", seed=2)
    for w in net.weights:  # every unit passes the huge input on (relu(-inf) would stop it)
        w[:] = np.abs(w)
    before = [w.copy() for w in net.weights + net.biases]
    with pytest.raises(fastbp.DivergenceError, match=r"epoch 1, batch 7:") as info:
        net.fit(X, T, epochs=3, batch_size=1, lr=0.01, momentum=momentum, shuffle=False)
    assert (info.value.epoch, info.value.batch) == (1, 7)
    for w, w0 in zip(net.weights + net.biases, before):
        np.testing.assert_array_equal(w, w0)
    net.fit(X[:6], T[:6], epochs=1, batch_size=1, lr=0.01)  # and the model trains on


@pytest.mark.parametrize("momentum", [0.0, 0.5])
@pytest.mark.parametrize("layers", [[129, 37, 3], [33, 7, 17, 2]])
def test_online_runs_hand_over_across_run_boundaries(threads, momentum, layers):
    """fit trains at most 4096 online samples per run: 8230 samples cross two run boundaries
    (the fused next product and the groups handed over) on a team as on one thread, loss
    included, and the first epoch matches single train_steps up to rounding."""
    X, T = data(layers, "softmax", 8230)
    X /= np.sqrt(layers[0])
    one = fit_on_one_thread_and_team(threads, layers, X, T, epochs=1, batch_size=1, lr=0.01,
                                     momentum=momentum, shuffle=False)
    stepped = fastbp.MLP(layers, output="softmax", dtype="float64", seed=2)
    fastbp.set_num_threads(1)
    for i in range(len(X)):
        stepped.train_step(X[i:i + 1], T[i:i + 1], lr=0.01, momentum=momentum)
    for a, b in zip(stepped.weights + stepped.biases, one.weights + one.biases):
        np.testing.assert_allclose(a, b, **TOLERANCE["float64"])


@pytest.mark.parametrize("momentum", [0.0, 0.5])
@pytest.mark.parametrize("layers", [[129, 37, 3], [33, 7, 17, 2]])
def test_online_team_at_every_level(simd_level, threads, momentum, layers):
    """The reference and portable kernels share out a step as the SIMD levels do."""
    X, T = data(layers, "softmax", 23)
    X /= np.sqrt(layers[0])
    fit_on_one_thread_and_team(threads, layers, X, T, dtype="float32", epochs=2, batch_size=1,
                               lr=0.05, momentum=momentum, seed=4)
