"""fastbp.Predictor: a snapshot of a model whose weights are packed once. Its outputs must equal
the model's predict at the time it was built to the bit (the same blocking reads the same
values), at every SIMD level, both dtypes, odd widths and batches, on 1, 2 and 3 threads with the
threaded path taken, for bfloat16 products and sparse input; it must not follow the model; it
pickles as its snapshot; and bad input gets the same clear errors as MLP.predict."""

import copy as copy_module
import gc
import pickle
import threading
import weakref

import numpy as np
import pytest

import fastbp
from conftest import assert_close, reference_of

SHAPES = [[1, 1], [7, 17, 3], [129, 65, 7, 2], [37, 300, 70, 10]]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layers", SHAPES, ids=["1-1", "7-17-3", "129-65-7-2", "37-300-70-10"])
@pytest.mark.parametrize("batch", [1, 7, 129])
def test_equals_the_models_predict(dtype, layers, batch, threads, simd_level):
    rng = np.random.default_rng(batch + len(layers))
    net = fastbp.MLP(layers, hidden="tanh", output="softmax" if layers[-1] > 1 else "sigmoid",
                     dtype=dtype, seed=1)
    for b in net.biases:
        b[...] = rng.normal(scale=0.1, size=b.shape)
    X = rng.normal(size=(batch, layers[0])).astype(dtype)
    frozen = fastbp.Predictor(net)
    got = frozen.predict(X)
    if batch > 1 and layers[1] > 16:  # a product big enough for every member of the team
        threads.assert_used()
    assert got.dtype == dtype and got.shape == (batch, layers[-1])
    np.testing.assert_array_equal(got, net.predict(X))
    assert_close(got, reference_of(net).predict(X), dtype, "predictor against the reference")


def test_bfloat16_model_and_sparse_input():
    sparse = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(3)
    X = rng.normal(size=(70, 129)).astype(np.float32)
    bf16 = fastbp.MLP([129, 65, 10], output="softmax", dtype="bfloat16", seed=2)
    np.testing.assert_array_equal(fastbp.Predictor(bf16).predict(X), bf16.predict(X))
    net = fastbp.MLP([129, 65, 10], output="softmax", seed=2)
    rows = sparse.random(70, 129, density=0.05, format="csr", random_state=4, dtype=np.float32)
    np.testing.assert_array_equal(fastbp.Predictor(net).predict(rows), net.predict(rows))


def test_snapshot_does_not_follow_the_model():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(64, 33)).astype(np.float32)
    T = rng.normal(size=(64, 5)).astype(np.float32)
    net = fastbp.MLP([33, 40, 5], output="identity", seed=6)
    before = net.predict(X)
    frozen = fastbp.Predictor(net)
    net.fit(X, T, epochs=2, batch_size=8, lr=0.05)
    net.weights[0][...] = 0
    assert not np.allclose(net.predict(X), before)
    np.testing.assert_array_equal(frozen.predict(X), before)
    gone = weakref.ref(net)
    del net  # the predictor holds its own copy, not the model
    gc.collect()
    assert gone() is None
    np.testing.assert_array_equal(frozen.predict(X), before)


@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
def test_pickles_as_its_snapshot(dtype):
    rng = np.random.default_rng(8)
    # W[0] of 129 x 65 (4096 entries or more) and 40 rows: the copies predict from packed panels
    X = rng.normal(size=(40, 129)).astype(np.float64 if dtype == "float64" else np.float32)
    T = rng.integers(0, 3, size=40)
    net = fastbp.MLP([129, 65, 3], hidden="elu", output="softmax", loss="softmax_ce",
                     dtype=dtype, seed=7)
    frozen = fastbp.Predictor(net)
    before = frozen.predict(X)
    net.fit(X, T, epochs=2, batch_size=8, lr=0.1)  # the copies must carry the snapshot, not this
    assert not np.array_equal(net.predict(X), before)
    for copy in (pickle.loads(pickle.dumps(frozen)), copy_module.deepcopy(frozen)):
        assert isinstance(copy, fastbp.Predictor) and repr(copy) == repr(frozen)
        np.testing.assert_array_equal(copy.predict(X), before)
    with pytest.raises(ValueError, match="'model' dict"):
        fastbp.Predictor.__new__(fastbp.Predictor).__setstate__({"layers": [129, 65, 3]})
    with pytest.raises(ValueError, match="expected a dict with keys"):
        fastbp.Predictor.__new__(fastbp.Predictor).__setstate__({"model": {"layers": [1, 1]}})
    broken = frozen.__getstate__()
    broken["model"]["parameters"] = broken["model"]["parameters"][:-1]
    with pytest.raises(ValueError, match="parameters should be"):
        fastbp.Predictor.__new__(fastbp.Predictor).__setstate__(broken)


def test_after_a_change_of_simd_level():
    """Packed for one level's kernels, the weights are packed per call at another, with the
    same blocking as the model's own predict at that level: the same outputs."""
    levels = fastbp._core.available_simd_levels()
    rng = np.random.default_rng(7)
    X = rng.normal(size=(64, 129)).astype(np.float32)
    net = fastbp.MLP([129, 300, 10], output="softmax", seed=8)
    frozen = fastbp.Predictor(net)
    best = fastbp.simd_level()
    try:
        for level in levels:
            fastbp._core.set_simd_level(level)
            np.testing.assert_array_equal(frozen.predict(X), net.predict(X), err_msg=level)
    finally:
        fastbp._core.set_simd_level(best)


def test_out_and_concurrent_calls():
    rng = np.random.default_rng(9)
    net = fastbp.MLP([37, 300, 70, 10], output="softmax", seed=10)
    frozen = fastbp.Predictor(net)
    X = rng.normal(size=(300, 37)).astype(np.float32)
    want = net.predict(X)
    out = np.empty((300, 10), dtype=np.float32)
    assert frozen.predict(X, out=out) is out
    np.testing.assert_array_equal(out, want)
    results = [None] * 4

    def serve(i):
        results[i] = frozen.predict(X)

    workers = [threading.Thread(target=serve, args=(i,)) for i in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    for r in results:
        np.testing.assert_array_equal(r, want)


def test_bad_input_gets_clear_errors():
    net = fastbp.MLP([4, 3, 2], seed=0)
    frozen = fastbp.Predictor(net)
    with pytest.raises(TypeError, match="expected a fastbp.MLP"):
        fastbp.Predictor(net._net)
    with pytest.raises(ValueError, match="expected 4 columns"):
        frozen.predict(np.ones((3, 5)))
    with pytest.raises(ValueError):
        frozen.predict(np.array([[1.0, np.nan, 0, 0]]))
    with pytest.raises(ValueError, match="out"):
        frozen.predict(np.ones((3, 4), dtype=np.float32), out=np.empty((2, 2), np.float32))
    with pytest.raises((TypeError, ValueError), match="out"):
        frozen.predict(np.ones((3, 4), dtype=np.float32), out=np.empty((3, 2), np.float64))
    with pytest.raises(TypeError, match="out"):
        frozen.predict(np.ones((3, 4), dtype=np.float32), out=[[0, 0]] * 3)
    X = np.ones((3, 4), dtype=np.float32)
    with pytest.raises(ValueError, match="shares memory"):
        frozen.predict(X, out=X.reshape(-1)[:6].reshape(3, 2))
    assert repr(frozen) == "Predictor(layers=[4, 3, 2], dtype='float32')"
