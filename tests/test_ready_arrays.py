"""Arrays that already are what the core takes skip the Python conversions (the per-call fast
path); they must be refused for the same bad contents as any other input, and give the same
results as the converted path."""

import gc

import numpy as np
import pytest

import fastbp


@pytest.fixture
def classifier():
    return fastbp.MLP([2, 4, 3], output="softmax", seed=0)


def ready(rows):
    return np.ascontiguousarray(rows, dtype=np.float32)


@pytest.mark.parametrize("labels", [[0, 3], [-1, 0]])
def test_ready_labels_out_of_range_are_refused(classifier, labels):
    for call in (lambda T: classifier.train_step(ready([[0, 0], [1, 1]]), T, lr=0.1),
                 lambda T: classifier.loss(ready([[0, 0], [1, 1]]), T),
                 lambda T: classifier.gradients(ready([[0, 0], [1, 1]]), T)):
        with pytest.raises(ValueError, match="class label -?[0-9]+ at sample [01] is outside"):
            call(np.array(labels, dtype=np.int64))


def test_ready_bce_targets_outside_0_1_are_refused():
    net = fastbp.MLP([2, 4, 2], output="sigmoid", seed=0)
    with pytest.raises(ValueError, match=r"bce targets must lie in \[0, 1\], got 1.5"):
        net.loss(ready([[0, 0], [1, 1]]), ready([[0, 1.5], [0, 1]]))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_ready_inputs_with_nan_or_infinity_are_refused(classifier, bad):
    x = ready([[0, 0], [1, bad]])
    for call in (classifier.predict, lambda x: classifier.loss(x, np.array([0, 1])),
                 lambda x: classifier.train_step(x, np.array([0, 1]), lr=0.1)):
        with pytest.raises(ValueError, match="X: contains NaN or infinity"):
            call(x)
    with pytest.raises(ValueError, match="T: contains NaN or infinity"):
        classifier.loss(ready([[0, 0], [1, 1]]), ready([[1, 0, 0], [0, bad, 0]]))


def test_ready_and_converted_inputs_give_the_same_results(classifier):
    rng = np.random.default_rng(0)
    x64 = rng.normal(size=(9, 2))
    labels = rng.integers(0, 3, 9)
    x32 = x64.astype(np.float32)
    assert np.array_equal(classifier.predict(x32), classifier.predict(x64.tolist()))
    assert classifier.loss(x32, labels.astype(np.int64)) == classifier.loss(
        x64, labels.astype(np.int32))
    a = fastbp.MLP([2, 4, 3], output="softmax", seed=0)
    b = fastbp.MLP([2, 4, 3], output="softmax", seed=0)
    for lr in (0.1, 0.1, 0.05, 0.05):  # the same rate twice reuses the step's SGD settings
        a.train_step(x32, labels.astype(np.int64), lr=lr, momentum=0.9)
        b.train_step(x64, labels, optimizer=fastbp.SGD(lr=lr, momentum=0.9))
    for u, v in zip(a.weights, b.weights):
        np.testing.assert_array_equal(u, v)


# -- the compiled ready_* calls -----------------------------------------------------------------
def _ready_calls(net, x, t):
    optimizer = fastbp.SGD(lr=0.1)._core
    return {"predict": lambda: net._net.ready_predict(x, None),
            "loss": lambda: net._net.ready_loss(x, t),
            "gradients": lambda: net._net.ready_gradients(x, t),
            "train_step": lambda: net._net.ready_train_step(x, t, optimizer)}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 7])
def test_ready_calls_do_what_the_checked_calls_do(dtype, n):
    rng = np.random.default_rng(n)
    x = rng.normal(size=(n, 2)).astype(dtype)
    for t in (rng.integers(0, 3, n), np.eye(3, dtype=dtype)[rng.integers(0, 3, n)]):
        a = fastbp.MLP([2, 4, 3], output="softmax", dtype=dtype, seed=0)
        b = fastbp.MLP([2, 4, 3], output="softmax", dtype=dtype, seed=0)
        values, labels = (None, t) if t.ndim == 1 else (t, None)
        np.testing.assert_array_equal(a._net.ready_predict(x, None), b._net.predict(x))
        assert a._net.ready_loss(x, t) == b._net.loss(x, values, labels)
        dW, db = a._net.ready_gradients(x, t)
        want_W, want_b = b._split(b._net.gradients(x, values, labels)[0])
        for got, want in zip(dW + db, want_W + want_b):
            assert got.shape == want.shape and got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)
        sgd = fastbp.SGD(lr=0.1)._core
        assert a._net.ready_train_step(x, t, sgd) == b._net.train_step(x, values, labels, sgd)
        np.testing.assert_array_equal(a._net.parameters(), b._net.parameters())


def test_ready_gradients_are_writable_views_that_keep_their_buffer():
    net = fastbp.MLP([3, 5, 2], seed=0)
    dW, db = net.gradients(np.ones((1, 3), np.float32), np.zeros((1, 2), np.float32))
    assert [w.shape for w in dW] == [(3, 5), (5, 2)] and [b.shape for b in db] == [(5,), (2,)]
    base = dW[0].base
    assert base is not None and all(a.base is base for a in dW + db)
    del base
    gc.collect()
    dW[1][...] = 7  # the buffer outlives the call and the other views
    np.testing.assert_array_equal(dW[1], 7)
    assert np.isfinite(db[0]).all()


def test_layer_views_refuse_an_array_they_would_have_to_copy():
    net = fastbp.MLP([3, 5, 2], seed=0)
    params = net._net.parameters()
    with pytest.raises(TypeError, match="ndarray of the network's dtype"):
        net._net.layer_views(params.astype(np.float64))
    read_only = params.copy()
    read_only.flags.writeable = False
    strided = np.zeros(2 * params.size, np.float32)[::2]
    for bad in (params[:-1], params.reshape(1, -1), read_only, strided):
        with pytest.raises(ValueError, match=f"writable contiguous array of {params.size} values"):
            net._net.layer_views(bad)


def _not_ready_cases():
    x = np.zeros((2, 2), np.float32)
    t = np.zeros((2, 3), np.float32)
    labels = np.array([0, 2])
    nan_x = x.copy()
    nan_x[1, 0] = np.nan
    inf_t = t.copy()
    inf_t[0, 1] = np.inf
    return {
        "float64 X": (x.astype(np.float64), t),
        "list X": (x.tolist(), t),
        "non-contiguous X": (np.zeros((2, 4), np.float32)[:, ::2], t),
        "1-D X": (np.zeros(2, np.float32), t),
        "wrong columns": (np.zeros((2, 3), np.float32), t),
        "no rows": (np.zeros((0, 2), np.float32), t),
        "NaN in X": (nan_x, t),
        "float64 T": (x, t.astype(np.float64)),
        "T rows differ": (x, np.zeros((3, 3), np.float32)),
        "infinity in T": (x, inf_t),
        "int32 labels": (x, labels.astype(np.int32)),
        "labels of a list": (x, labels.tolist()),
        "labels of other rows": (x, np.array([0, 1, 2])),
        # a float32 type number with big-endian bytes: read in place it would be garbage
        "big-endian X": (x.astype(">f4"), t),
        "big-endian T": (x, t.astype(">f4")),
        "big-endian labels": (x, labels.astype(">i8")),
    }


@pytest.mark.parametrize("case", sorted(_not_ready_cases()))
def test_ready_calls_leave_anything_else_to_the_package(classifier, case):
    x, t = _not_ready_cases()[case]
    before = classifier._net.parameters().copy()
    for name, call in _ready_calls(classifier, x, t).items():
        if name == "predict" and case in ("float64 T", "T rows differ", "infinity in T",
                                          "int32 labels", "labels of a list",
                                          "labels of other rows", "big-endian T",
                                          "big-endian labels"):
            continue  # predict takes no targets
        assert call() is None, (case, name)
    np.testing.assert_array_equal(classifier._net.parameters(), before)


def test_ready_labels_need_a_softmax_ce_network():
    net = fastbp.MLP([2, 4, 1], output="sigmoid", seed=0)
    x = np.zeros((2, 2), np.float32)
    assert net._net.ready_loss(x, np.array([0, 1])) is None
    assert net._net.ready_loss(x, np.array([[0], [1]], np.float32)) is not None


def test_ready_train_step_needs_compiled_optimizer_settings(classifier):
    x, t = np.zeros((2, 2), np.float32), np.array([0, 1])
    assert classifier._net.ready_train_step(x, t, {"kind": "sgd", "learning_rate": 0.1}) is None


def test_big_endian_arrays_give_the_results_of_native_ones(classifier):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 2)).astype(np.float32)
    labels = rng.integers(0, 3, 5)
    np.testing.assert_array_equal(classifier.predict(x.astype(">f4")), classifier.predict(x))
    assert classifier.loss(x.astype(">f4"), labels.astype(">i8")) == classifier.loss(x, labels)
