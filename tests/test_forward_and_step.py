"""Forward pass, loss and the fused SGD step against the independent NumPy reference, both
dtypes, 1 and 2 threads, every SIMD level the CPU has."""

import numpy as np
import pytest

import fastbp
from conftest import assert_close, assert_steps_match_reference, make_data, reference_of

CASES = [  # layers, batch, hidden, output
    ([2, 8, 1], 1, "sigmoid", "sigmoid"),
    ([32, 64, 64, 1], 32, "relu", "identity"),
    ([37, 129, 65, 3], 7, "tanh", "softmax"),
    ([64, 300, 10], 129, "leaky_relu", "softmax"),
    ([300, 70, 5], 65, "relu", "tanh"),
    ([37, 129, 65, 3], 7, "gelu", "softmax"),
    ([33, 70, 17, 2], 65, "silu", "identity"),
    ([5, 300, 3], 300, "gelu_tanh", "sigmoid"),
    ([20, 33, 9], 17, "elu", "softplus"),
    ([12, 40, 1], 9, "softplus", "elu"),
    # batches of 2 and 8: the thin weight step (a rank-k sweep of W, for batches of 1 to 8)
    ([17, 33, 9, 1], 2, "relu", "sigmoid"),
    ([40, 17, 129, 3], 8, "sigmoid", "softmax"),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layers,batch,hidden,output", CASES)
def test_predict_and_loss_match_reference(dtype, layers, batch, hidden, output, threads,
                                          simd_level):
    rng = np.random.default_rng(batch)
    net = fastbp.MLP(layers, hidden=hidden, output=output, dtype=dtype, seed=2)
    X, T = make_data(rng, batch, layers[0], layers[-1], net.loss_name)
    X = X.astype(dtype)
    ref = reference_of(net)
    assert_close(net.predict(X), ref.predict(X), dtype, "predict")
    assert_close(net.loss(X, T), ref.loss(X, T), dtype, "loss")
    threads.assert_used()


def test_predict_handles_more_rows_than_one_chunk():
    rng = np.random.default_rng(0)
    net = fastbp.MLP([5, 9, 2], hidden="relu", output="softmax", dtype="float64", seed=0)
    X = rng.normal(size=(2500, 5))
    np.testing.assert_allclose(net.predict(X), reference_of(net).predict(X), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 7, 2500])
def test_predict_into_a_given_array(dtype, n):
    rng = np.random.default_rng(n)
    net = fastbp.MLP([5, 9, 3], hidden="tanh", output="softmax", dtype=dtype, seed=0)
    X = rng.normal(size=(n, 5))
    out = np.full((n, 3), np.nan, dtype=dtype)
    assert net.predict(X, out=out) is out
    np.testing.assert_array_equal(out, net.predict(X))
    assert_close(out, reference_of(net).predict(X.astype(dtype)), dtype, "predict(out=)")


@pytest.mark.parametrize("bad,error,match", [
    (np.empty((4, 3), np.float64), TypeError, "float32 array, got a float64"),
    (np.empty((3, 4), np.float32), ValueError, r"expected shape \(4, 3\), got \(3, 4\)"),
    (np.empty((3, 4), np.float32).T, TypeError, "got a non-contiguous float32"),
    (np.empty((4, 3), np.float32)[::-1], TypeError, "non-contiguous"),
    ("4 by 3", TypeError, "expected a NumPy array, got str"),
    ([[0.0] * 3] * 4, TypeError, "expected a NumPy array, got list"),
])
def test_predict_refuses_an_out_it_cannot_fill(bad, error, match):
    net = fastbp.MLP([2, 5, 3], seed=0)
    with pytest.raises(error, match=match):
        net.predict(np.ones((4, 2)), out=bad)


def test_predict_refuses_an_out_that_overlaps_x():
    net = fastbp.MLP([3, 3], seed=0)  # one layer: outputs go straight into out
    X = np.ones((4, 3), np.float32)
    with pytest.raises(ValueError, match="shares memory with X"):
        net.predict(X, out=X)
    with pytest.raises(ValueError, match="shares memory with X"):
        net.predict(X[:2], out=X[1:3])


def test_predict_refuses_a_read_only_out():
    net = fastbp.MLP([2, 5, 3], seed=0)
    out = np.empty((4, 3), np.float32)
    out.flags.writeable = False
    with pytest.raises(TypeError, match="read-only"):
        net.predict(np.ones((4, 2)), out=out)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layers,batch,hidden,output", CASES)
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_train_steps_match_reference(dtype, layers, batch, hidden, output, momentum, threads,
                                     simd_level):
    rng = np.random.default_rng(batch + 1)
    net = fastbp.MLP(layers, hidden=hidden, output=output, dtype=dtype, seed=4)
    assert_steps_match_reference(net, rng, steps=3, batch=batch, lr=0.05, momentum=momentum)
    if batch > 1:  # (batch-1 steps of a small network run in the single-threaded online kernels)
        threads.assert_used()


def test_simd_levels_agree_with_each_other():
    from conftest import SIMD_LEVELS
    from fastbp import _core

    rng = np.random.default_rng(9)
    X, T = make_data(rng, 50, 130, 7, "softmax_ce")
    results = {}
    for level in SIMD_LEVELS:
        _core.set_simd_level(level)
        net = fastbp.MLP([130, 257, 7], hidden="relu", output="softmax", dtype="float64", seed=1)
        net.train_step(X, T, lr=0.1)
        results[level] = net.predict(X)
    _core.set_simd_level(SIMD_LEVELS[-1])
    for level, out in results.items():
        np.testing.assert_allclose(out, results[SIMD_LEVELS[0]], rtol=1e-10, atol=1e-12,
                                   err_msg=f"{level} differs from {SIMD_LEVELS[0]}")


def test_gradients_do_not_change_the_model():
    rng = np.random.default_rng(0)
    net = fastbp.MLP([6, 5, 2], hidden="tanh", output="softmax", seed=0)
    before = [w.copy() for w in net.weights + net.biases]
    X, T = make_data(rng, 4, 6, 2, "softmax_ce")
    net.gradients(X, T)
    for a, b in zip(before, net.weights + net.biases):
        np.testing.assert_array_equal(a, b)


def test_weights_are_live_views():
    net = fastbp.MLP([3, 4, 2], hidden="relu", output="identity", dtype="float64", seed=0)
    X = np.ones((1, 3))
    net.weights[0][...] = 0
    net.biases[0][...] = 1
    net.weights[1][...] = 2
    net.biases[1][...] = 0.5
    np.testing.assert_allclose(net.predict(X), [[8.5, 8.5]])


def test_train_step_updates_the_exposed_views():
    net = fastbp.MLP([3, 4, 2], hidden="relu", output="identity", seed=0)
    W = net.weights[0]
    before = W.copy()
    net.train_step(np.ones((2, 3)), np.ones((2, 2)), lr=0.1)
    assert not np.array_equal(before, W)


ONLINE_OUTPUTS = [("softmax", "softmax_ce"), ("sigmoid", "bce"), ("identity", "mse"),
                  ("tanh", "mse"), ("gelu", "huber"), ("exp", "poisson")]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("hidden", ["identity", "relu", "leaky_relu", "sigmoid", "tanh", "elu",
                                    "softplus", "silu", "gelu", "gelu_tanh"])
@pytest.mark.parametrize("output,loss", ONLINE_OUTPUTS)
@pytest.mark.parametrize("layers", [[2, 8, 2], [6, 20, 3], [40, 1, 7, 2], [3, 32, 17, 33]],
                         ids=["2-8-2", "6-20-3", "40-1-7-2", "3-32-17-33"])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_online_steps_match_reference(dtype, hidden, output, loss, layers, momentum, simd_level):
    """Batch-1 steps (the online kernels) with widths on both sides of a vector and of a tile
    row, labels and momentum, against the reference."""
    rng = np.random.default_rng(len(layers) * 7 + layers[1])
    net = fastbp.MLP(layers, hidden=hidden, output=output, loss=loss, dtype=dtype, seed=3)
    for b in net.biases:
        b[...] = rng.normal(scale=0.1, size=b.shape)
    # (an exp output grows fast: the rate that suits the others overflows it within 4 steps)
    lr = 1e-3 if loss == "poisson" else 0.1
    assert_steps_match_reference(net, rng, steps=4, batch=1, lr=lr, momentum=momentum,
                                 alternate_labels=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("hidden", ["sigmoid", "relu", "tanh"])
@pytest.mark.parametrize("output,loss", [("sigmoid", "bce"), ("sigmoid", "mse"),
                                         ("identity", "mse")])
@pytest.mark.parametrize("layers", [[2, 8, 1], [37, 9, 1], [1, 17, 1], [20, 1, 1]],
                         ids=["2-8-1", "37-9-1", "1-17-1", "20-1-1"])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_online_single_output_matches_reference(dtype, hidden, output, loss, layers, momentum,
                                                simd_level):
    """A last layer of one column (regression, binary outputs) is a dot product forward and a
    vector update backward in the online kernels: inputs below, at and above a vector and two,
    a hidden layer of one column too, with and without momentum, against the reference."""
    rng = np.random.default_rng(layers[0] + layers[1])
    net = fastbp.MLP(layers, hidden=hidden, output=output, loss=loss, dtype=dtype, seed=5)
    for b in net.biases:
        b[...] = rng.normal(scale=0.1, size=b.shape)
    assert_steps_match_reference(net, rng, steps=4, batch=1, lr=0.1, momentum=momentum)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("hidden", ["relu", "tanh", "gelu", "softplus"])
@pytest.mark.parametrize("output,loss", ONLINE_OUTPUTS)
@pytest.mark.parametrize("layers", [[2, 8, 2], [40, 1, 7, 2], [3, 32, 17, 33], [129, 65, 2]],
                         ids=["2-8-2", "40-1-7-2", "3-32-17-33", "129-65-2"])
def test_one_sample_predict_and_loss_match_reference(dtype, hidden, output, loss, layers,
                                                     simd_level):
    """One sample goes through the online forward kernel (no GEMM driver): against the
    reference, and equal to its row of a batch through the GEMM path up to rounding."""
    rng = np.random.default_rng(layers[1])
    net = fastbp.MLP(layers, hidden=hidden, output=output, loss=loss, dtype=dtype, seed=4)
    for b in net.biases:
        b[...] = rng.normal(scale=0.1, size=b.shape)
    X, T = make_data(rng, 5, layers[0], layers[-1], net.loss_name)
    X, T = X.astype(dtype), T.astype(dtype)
    ref = reference_of(net)
    batch = net.predict(X)
    for i in range(len(X)):
        one = net.predict(X[i:i + 1])
        assert_close(one, ref.predict(X[i:i + 1]), dtype, "predict of one sample")
        assert_close(one, batch[i:i + 1], dtype, "one sample against its row of a batch")
        assert_close(net.loss(X[i:i + 1], T[i:i + 1]), ref.loss(X[i:i + 1], T[i:i + 1]), dtype,
                     "loss of one sample")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layers", [[1, 7, 1], [17, 129, 7, 3], [129, 300, 65, 10]])
def test_one_sample_predict_on_a_team_matches_reference(dtype, layers, threads, simd_level):
    """A one-sample forward pass split over a team by columns, a barrier between layers: every
    member's share, with widths that split unevenly, against the reference."""
    rng = np.random.default_rng(len(layers))
    net = fastbp.MLP(layers, hidden="tanh", output="softmax" if layers[-1] > 1 else "sigmoid",
                     dtype=dtype, seed=5)
    ref = reference_of(net)
    for _ in range(3):
        x = rng.normal(size=(1, layers[0])).astype(dtype)
        t = rng.integers(0, layers[-1], 1) if layers[-1] > 1 else np.array([[1.0]])
        assert_close(net.predict(x), ref.predict(x), dtype, "predict of one sample on a team")
        out = np.empty((1, layers[-1]), dtype)
        assert net.predict(x, out=out) is out
        assert_close(out, ref.predict(x), dtype, "predict of one sample into out")
        reference_t = np.eye(layers[-1])[t] if layers[-1] > 1 else t
        assert_close(net.loss(x, t), ref.loss(x, reference_t), dtype, "loss of one sample")
    threads.assert_used()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_sample_predict_of_a_large_network_matches_reference(dtype, threads):
    """Above 2^18 parameters one sample goes through the GEMM driver: against the reference."""
    rng = np.random.default_rng(9)
    net = fastbp.MLP([600, 500, 3], hidden="tanh", output="softmax", dtype=dtype, seed=1)
    ref = reference_of(net)
    x = rng.normal(size=(1, 600)).astype(dtype)
    assert_close(net.predict(x), ref.predict(x), dtype, "predict of one sample")
    assert_close(net.loss(x, np.array([2])), ref.loss(x, np.eye(3)[[2]]), dtype, "loss")
    threads.assert_used()


def test_one_sample_predictions_from_several_threads_at_once(threads):
    """The online inference path keeps its buffers per thread, which its team writes into:
    concurrent calls on one model, each on a team, must not see each other's rows."""
    from concurrent.futures import ThreadPoolExecutor
    rng = np.random.default_rng(0)
    net = fastbp.MLP([17, 33, 9, 3], hidden="tanh", output="softmax", seed=0)
    X = rng.normal(size=(300, 17)).astype(np.float32)
    expected = net.predict(X)

    def rows(start):
        return [net.predict(X[i:i + 1])[0] for i in range(start, len(X), 3)]

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(rows, range(3)))
    for start, got in enumerate(results):
        np.testing.assert_allclose(np.array(got), expected[start::3], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_batch_one_steps_of_a_large_network_match_reference(dtype, momentum, threads):
    """Above 2^18 parameters batch-1 steps take the threaded GEMM path on 2 threads and the
    online kernels on 1: both against the reference."""
    rng = np.random.default_rng(5)
    net = fastbp.MLP([600, 500, 3], hidden="tanh", output="softmax", dtype=dtype, seed=1)
    assert_steps_match_reference(net, rng, steps=3, batch=1, lr=0.05, momentum=momentum)
