"""Sparse input (scipy.sparse) through the sparse first layer: every call gives what the same
call gives on the densified matrix (itself tested against the NumPy reference, jax.grad and
finite differences), for every optimizer (those that move every row each step included), loss,
odd size, both dtypes, every kernel level and 1, 2 and 3 threads; every sparse format and
non-canonical matrices; bad sparse input refused with a clear error."""

import numpy as np
import pytest

import fastbp
from fastbp import _core
from conftest import assert_close

sparse = pytest.importorskip("scipy.sparse")

OPTIMIZERS = {
    "sgd": lambda: fastbp.SGD(0.05),
    "momentum": lambda: fastbp.SGD(0.05, momentum=0.9),
    "nesterov": lambda: fastbp.SGD(0.05, momentum=0.9, nesterov=True),
    "decay": lambda: fastbp.SGD(0.05, weight_decay=0.1),
    "adam": lambda: fastbp.Adam(0.01),
    "adamw": lambda: fastbp.AdamW(0.01, weight_decay=0.1),
    "rprop": lambda: fastbp.RProp(),
}


def sparse_data(rng, n, n_in, density=0.2, dtype=np.float64):
    """A non-canonical CSR matrix: empty rows, columns in no order within a row, and repeated
    columns (whose values add up), built from its three arrays so scipy keeps them as given."""
    X = sparse.random(n, n_in, density=density, format="csr", random_state=rng, dtype=dtype)
    indptr, indices, data = [0], [], []
    for i in range(n):
        cols = X.indices[X.indptr[i]:X.indptr[i + 1]] if i % 5 != 3 else X.indices[:0]
        vals = X.data[X.indptr[i]:X.indptr[i + 1]] if i % 5 != 3 else X.data[:0]
        if len(cols) > 1:  # repeat the first column, with a value of its own
            cols, vals = np.append(cols, cols[0]), np.append(vals, dtype(0.5))
        order = rng.permutation(len(cols))
        indices.extend(cols[order])
        data.extend(vals[order])
        indptr.append(len(indices))
    out = sparse.csr_matrix((np.array(data, dtype=dtype), np.array(indices), np.array(indptr)),
                            shape=(n, n_in))
    return out


def test_the_test_data_is_not_canonical():
    X = sparse_data(np.random.default_rng(0), 40, 30)
    assert X.nnz > X.copy().tocoo().tocsr().nnz, "no repeated columns"
    assert not all((np.diff(X.indices[X.indptr[i]:X.indptr[i + 1]]) > 0).all()
                   for i in range(40)), "every row sorted"
    assert (np.diff(X.indptr) == 0).any(), "no empty row"


def two_models(layers, dtype, **kwargs):
    return (fastbp.MLP(layers, dtype=dtype, seed=3, **kwargs),
            fastbp.MLP(layers, dtype=dtype, seed=3, **kwargs))


def assert_same_model(a, b, dtype):
    for wa, wb in zip(a.weights + a.biases, b.weights + b.biases):
        assert_close(wa, wb, dtype, "parameters after training on sparse vs dense input")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("n_in,hidden,n", [(1, 7, 7), (17, 1, 1), (129, 17, 33), (40, 129, 9)])
def test_fit_on_sparse_input_equals_fit_on_dense(dtype, optimizer, n_in, hidden, n, threads):
    rng = np.random.default_rng(n_in + hidden)
    X = sparse_data(rng, n, n_in)
    y = rng.integers(0, 3, size=n)
    a, b = two_models([n_in, hidden, 3], dtype, hidden="tanh", output="softmax")
    batch = max(1, n // 3)
    ha = a.fit(X, y, epochs=3, batch_size=batch, optimizer=OPTIMIZERS[optimizer](), seed=1)
    threads.assert_used()
    hb = b.fit(X.toarray(), y, epochs=3, batch_size=batch, optimizer=OPTIMIZERS[optimizer](),
               seed=1)
    assert_same_model(a, b, dtype)
    assert_close(ha.loss, hb.loss, dtype, "epoch losses")
    assert_close(a.predict(X), b.predict(X.toarray()), dtype, "predictions")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("loss,output", [("mse", "identity"), ("bce", "sigmoid"),
                                         ("softmax_ce", "softmax"), ("poisson", "exp"),
                                         ("huber", "identity")])
def test_loss_gradients_and_steps_equal_the_dense_ones(dtype, loss, output, simd_level):
    rng = np.random.default_rng(5)
    X = sparse_data(rng, 23, 31, density=0.15)
    Xd = X.toarray()
    if loss == "softmax_ce":
        T = np.eye(4)[rng.integers(0, 4, 23)]
    elif loss in ("bce", "poisson"):
        T = rng.integers(0, 2, size=(23, 4)).astype(float)
    else:
        T = rng.normal(size=(23, 4))
    w = rng.uniform(0, 2, size=23)
    a, b = two_models([31, 9, 5, 4], dtype, hidden="gelu", output=output, loss=loss)
    assert_close(a.loss(X, T, w), b.loss(Xd, T, w), dtype, "loss")
    for ga, gb in zip(*[sum(m.gradients(x, T, w), []) for m, x in ((a, X), (b, Xd))]):
        assert_close(ga, gb, dtype, "gradients")
    for step in range(3):
        for batch in (slice(0, 1), slice(0, 23), slice(5, 12)):  # batch 1 too
            la = a.train_step(X[batch], T[batch], optimizer=fastbp.Adam(0.01),
                              sample_weight=w[batch])
            lb = b.train_step(Xd[batch], T[batch], optimizer=fastbp.Adam(0.01),
                              sample_weight=w[batch])
            assert_close(la, lb, dtype, "train_step loss")
    assert_same_model(a, b, dtype)


@pytest.mark.parametrize("make", [sparse.csr_matrix, sparse.csr_array, sparse.csc_matrix,
                                  sparse.csc_array, sparse.coo_matrix, sparse.coo_array,
                                  sparse.lil_matrix, sparse.dok_matrix])
def test_every_sparse_format_gives_the_dense_predictions(make):
    rng = np.random.default_rng(2)
    Xd = sparse_data(rng, 12, 9).toarray()
    net = fastbp.MLP([9, 6, 2], dtype="float64", seed=0)
    np.testing.assert_allclose(net.predict(make(Xd)), net.predict(Xd), rtol=1e-12, atol=1e-14)


def test_int32_indices_rows_without_nonzeros_and_an_all_zero_matrix():
    rng = np.random.default_rng(4)
    X = sparse_data(rng, 30, 12, density=0.05)
    X.indices, X.indptr = X.indices.astype(np.int32), X.indptr.astype(np.int32)
    assert (np.diff(X.indptr) == 0).any(), "the data should have empty rows"
    net = fastbp.MLP([12, 5, 1], dtype="float64", seed=0)
    np.testing.assert_allclose(net.predict(X), net.predict(X.toarray()), rtol=1e-12)
    zero = sparse.csr_matrix((4, 12))
    np.testing.assert_allclose(net.predict(zero), net.predict(np.zeros((4, 12))), rtol=1e-12)
    net.fit(zero, np.ones((4, 1)), epochs=2, batch_size=2)  # only the biases learn
    assert np.isfinite(net.predict(zero)).all()


def test_validation_split_and_validation_data_take_sparse_rows():
    rng = np.random.default_rng(6)
    X = sparse_data(rng, 60, 20)
    y = rng.integers(0, 2, size=60)
    a, b = two_models([20, 8, 2], "float64", output="softmax")
    ha = a.fit(X, y, epochs=4, validation_split=0.25, seed=2)
    hb = b.fit(X.toarray(), y, epochs=4, validation_split=0.25, seed=2)
    np.testing.assert_allclose(ha.val_loss, hb.val_loss, rtol=1e-10)
    ha = a.fit(X[:40], y[:40], epochs=2, validation_data=(X[40:], y[40:]), seed=4)
    hb = b.fit(X.toarray()[:40], y[:40], epochs=2, validation_data=(X.toarray()[40:], y[40:]),
               seed=4)
    np.testing.assert_allclose(ha.val_accuracy, hb.val_accuracy)
    assert_same_model(a, b, "float64")


def test_lbfgs_on_sparse_input_equals_dense():
    rng = np.random.default_rng(7)
    X = sparse_data(rng, 50, 25)
    y = rng.integers(0, 3, size=50)
    a, b = two_models([25, 6, 3], "float64", output="softmax")
    a.fit(X, y, epochs=15, optimizer=fastbp.LBFGS())
    b.fit(X.toarray(), y, epochs=15, optimizer=fastbp.LBFGS())
    assert_same_model(a, b, "float64")


def test_sparse_estimators_match_their_dense_fits():
    from fastbp.sklearn import MLPClassifier, MLPRegressor
    rng = np.random.default_rng(8)
    X = sparse_data(rng, 80, 30)
    y = rng.integers(0, 3, size=80)
    for solver in ("adam", "sgd", "lbfgs"):
        kwargs = dict(hidden_layer_sizes=(7,), solver=solver, max_iter=20, random_state=0,
                      early_stopping=solver != "lbfgs")
        with np.errstate(all="ignore"):
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                a = MLPClassifier(**kwargs).fit(X, y)
                b = MLPClassifier(**kwargs).fit(X.toarray(), y)
        np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X.toarray()), rtol=1e-9)
    reg = MLPRegressor(hidden_layer_sizes=(5,), max_iter=5, random_state=0)
    with pytest.warns(Warning):
        reg.partial_fit(X.tocsc(), rng.normal(size=80))
        reg.fit(sparse.coo_array(X), rng.normal(size=80))
    assert reg.predict(X).shape == (80,)


def test_bad_sparse_input_is_refused_with_a_clear_error():
    net = fastbp.MLP([5, 3, 1], dtype="float64", seed=0)
    good = sparse.csr_matrix(np.eye(4, 5))
    with pytest.raises(ValueError, match="expected 5 columns"):
        net.predict(sparse.csr_matrix(np.eye(4, 6)))
    with pytest.raises(ValueError, match="non-empty"):
        net.predict(sparse.csr_matrix((0, 5)))
    bad = good.copy()
    bad.data[1] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        net.fit(bad, np.ones((4, 1)))
    with pytest.raises(TypeError, match="real numbers"):
        net.predict(sparse.csr_matrix(np.eye(4, 5, dtype=complex)))
    # The core's own checks, reached by calling it directly with a corrupted structure.
    raw = net._net
    for not_an_array in ("abc", [[1, "x"]], object(), {"a": 1}):
        with pytest.raises((TypeError, ValueError)):  # numpy's own words, or ours
            raw.predict(not_an_array)
    weights = [w.copy() for w in net.weights]
    for indptr, indices, what in [([0, 1, 2, 3, 9], [0, 1, 2, 3], "does not fit"),
                                  ([0, 2, 1, 3, 4], [0, 1, 2, 3], "must not decrease"),
                                  ([1, 2, 3, 4, 4], [0, 1, 2, 3], "start at 0"),
                                  ([0, 1, 2, 3, 4], [0, 1, 7, 3], "outside \\[0, 5\\)"),
                                  ([0, 1, 2, 3, 4], [0, -1, 2, 3], "outside \\[0, 5\\)")]:
        corrupt = fastbp._validation.SparseRows(np.array(indptr, np.int64),
                                                np.array(indices, np.int64),
                                                np.ones(4), (4, 5))
        with pytest.raises(ValueError, match=what):
            raw.predict(corrupt)
        with pytest.raises(ValueError, match=what):
            raw.train_step(corrupt, np.ones((4, 1)), None, _core.Optimizer({"kind": "sgd"}))
    for w, before in zip(net.weights, weights):
        np.testing.assert_array_equal(w, before)  # nothing trained on the refused input


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("optimizer", ["sgd", "decay", "momentum", "adam", "gradients"])
def test_the_sparse_passes_on_threads_give_the_dense_results(dtype, optimizer, threads):
    """One weight layer, so the sparse forward and weight passes are the only kernels: with the
    team's threads asserted, the step (or the stored gradient) must equal the dense one, which a
    race between the threads' column ranges would break."""
    rng = np.random.default_rng(9)
    X = sparse_data(rng, 7, 129, density=0.3)
    T = rng.normal(size=(7, 33))
    a, b = two_models([129, 33], dtype)
    _core.reset_threads_used()
    predicted = a.predict(X)
    threads.assert_used()
    assert_close(predicted, b.predict(X.toarray()), dtype, "predictions")
    _core.reset_threads_used()
    if optimizer == "gradients":
        for ga, gb in zip(sum(a.gradients(X, T), []), sum(b.gradients(X.toarray(), T), [])):
            assert_close(ga, gb, dtype, "gradients")
    else:
        a.train_step(X, T, optimizer=OPTIMIZERS[optimizer]())
        b.train_step(X.toarray(), T, optimizer=OPTIMIZERS[optimizer]())
    threads.assert_used()
    assert_same_model(a, b, dtype)


def test_more_rows_than_a_chunk_of_inference():
    """predict, loss and validation go through the rows 1024 at a time: the later chunks start
    inside the sparse matrix."""
    rng = np.random.default_rng(10)
    X = sparse_data(rng, 2500, 40, density=0.05)
    y = rng.integers(0, 3, size=2500)
    a, b = two_models([40, 9, 3], "float64", output="softmax")
    np.testing.assert_allclose(a.predict(X), b.predict(X.toarray()), rtol=1e-12, atol=1e-14)
    assert a.loss(X, y) == pytest.approx(b.loss(X.toarray(), y), rel=1e-12)
    ha = a.fit(X[:100], y[:100], epochs=1, validation_data=(X, y), seed=0)
    hb = b.fit(X.toarray()[:100], y[:100], epochs=1, validation_data=(X.toarray(), y), seed=0)
    assert ha.val_loss == pytest.approx(hb.val_loss, rel=1e-10)


def test_sparse_input_is_never_densified():
    """Two million columns: densified, 100 rows would take 1.6 GB; allocations made through
    NumPy during training and prediction stay far below that."""
    import tracemalloc
    from fastbp.sklearn import MLPRegressor
    rng = np.random.default_rng(11)
    X = sparse.random(100, 2_000_000, density=2e-5, format="csr", random_state=rng)
    y = rng.normal(size=100)
    tracemalloc.start()
    try:
        net = fastbp.MLP([2_000_000, 2, 1], dtype="float64", seed=0)
        net.fit(X, y, epochs=2, batch_size=50)
        net.predict(X)
        with pytest.warns(Warning):  # (two iterations do not converge)
            MLPRegressor(hidden_layer_sizes=(2,), max_iter=2, random_state=0).fit(X, y).predict(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 200e6, f"{peak / 1e6:.0f} MB allocated through NumPy: densified?"
