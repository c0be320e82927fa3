"""Sample weights: fused in the loss layer. Oracles that do not share fastbp's code path: an
integer weight k equals k copies of the row, a zero weight equals dropping the row, weights
scaled together change nothing; and scikit-learn's MLP with the same weights, step for step."""

import warnings

import numpy as np
import pytest

import fastbp
from conftest import make_data

LOSSES = [("softmax", "softmax_ce", 3), ("sigmoid", "bce", 2), ("identity", "mse", 2),
          ("identity", "huber", 1), ("exp", "poisson", 2)]


def repeated(X, T, counts):
    return np.repeat(X, counts, axis=0), np.repeat(T, counts, axis=0)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("output,loss,n_out", LOSSES)
@pytest.mark.parametrize("n", [1, 7, 129])
def test_integer_weights_equal_repeated_rows(output, loss, n_out, n, dtype, threads):
    rng = np.random.default_rng(n)
    X, T = make_data(rng, n, 5, n_out, loss)
    counts = rng.integers(0, 4, n)
    counts[0] = max(counts[0], 1)  # some weight
    net = fastbp.MLP([5, 17, n_out], hidden="tanh", output=output, loss=loss, dtype=dtype,
                     seed=0)
    Xr, Tr = repeated(X, T, counts)
    tol = 1e-12 if dtype == "float64" else 2e-5
    assert net.loss(X, T, sample_weight=counts) == pytest.approx(net.loss(Xr, Tr), rel=tol)
    dW, db = net.gradients(X, T, sample_weight=counts)
    rW, rb = net.gradients(Xr, Tr)
    for a, b in zip(dW + db, rW + rb):
        np.testing.assert_allclose(a, b, rtol=tol * 10, atol=tol)
    if n >= 7:
        threads.assert_used()


@pytest.mark.parametrize("optimizer", [fastbp.SGD(lr=0.1, momentum=0.9), fastbp.Adam(lr=0.01),
                                       fastbp.SGD(lr=0.1, weight_decay=0.01)])
def test_weighted_steps_equal_steps_on_repeated_rows(optimizer):
    rng = np.random.default_rng(1)
    X, y = make_data(rng, 17, 4, 3, "softmax_ce", labels=True)
    counts = rng.integers(1, 4, 17)
    a = fastbp.MLP([4, 9, 3], output="softmax", dtype="float64", seed=0)
    b = fastbp.MLP([4, 9, 3], output="softmax", dtype="float64", seed=0)
    Xr, yr = repeated(X, y, counts)
    for _ in range(3):
        assert a.train_step(X, y, optimizer=optimizer, sample_weight=counts) == pytest.approx(
            b.train_step(Xr, yr, optimizer=optimizer), rel=1e-12)
    for u, v in zip(a.weights + a.biases, b.weights + b.biases):
        np.testing.assert_allclose(u, v, rtol=1e-10, atol=1e-13)


def test_full_batch_fit_with_weights_equals_fit_on_repeated_rows():
    rng = np.random.default_rng(2)
    X, T = make_data(rng, 23, 3, 2, "mse")
    counts = rng.integers(1, 3, 23)
    a = fastbp.MLP([3, 8, 2], hidden="relu", dtype="float64", seed=0)
    b = fastbp.MLP([3, 8, 2], hidden="relu", dtype="float64", seed=0)
    Xr, Tr = repeated(X, T, counts)
    ha = a.fit(X, T, epochs=5, batch_size=23, optimizer=fastbp.Adam(lr=0.01),
               sample_weight=counts)
    hb = b.fit(Xr, Tr, epochs=5, batch_size=len(Xr), optimizer=fastbp.Adam(lr=0.01))
    np.testing.assert_allclose(ha.loss, hb.loss, rtol=1e-12)
    for u, v in zip(a.weights, b.weights):
        np.testing.assert_allclose(u, v, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("batch_size", [1, 12])
def test_zero_weights_with_plain_sgd_equal_dropping_the_rows(batch_size):
    """Online steps skip a zero-weight row; a full batch ignores it (plain SGD has no state
    that a zero gradient would move)."""
    rng = np.random.default_rng(3)
    X, T = make_data(rng, 12, 3, 1, "mse")
    weights = np.ones(12)
    weights[1::3] = 0
    kept = weights > 0
    a = fastbp.MLP([3, 5, 1], hidden="tanh", dtype="float64", seed=0)
    b = fastbp.MLP([3, 5, 1], hidden="tanh", dtype="float64", seed=0)
    a.fit(X, T, epochs=3, batch_size=batch_size, lr=0.1, shuffle=False, sample_weight=weights)
    b.fit(X[kept], T[kept], epochs=3, batch_size=min(batch_size, int(kept.sum())), lr=0.1,
          shuffle=False)
    for u, v in zip(a.weights + a.biases, b.weights + b.biases):
        np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-15)


def test_a_zero_weight_row_with_an_infinite_output_changes_nothing():
    net = fastbp.MLP([1, 1], output="exp", dtype="float32", seed=0)
    net.weights[0][...] = 1.0
    X = np.array([[100.0], [0.5]], np.float32)  # exp(100) overflows float32
    T = np.array([[1.0], [1.0]], np.float32)
    before = net.loss(X[1:], T[1:])
    loss = net.train_step(X, T, lr=0.01, sample_weight=[0.0, 1.0])
    assert np.isfinite(net.weights[0]).all()
    assert loss == pytest.approx(before, rel=1e-6)


def test_scaling_all_weights_changes_nothing():
    rng = np.random.default_rng(4)
    X, y = make_data(rng, 30, 4, 3, "softmax_ce", labels=True)
    w = rng.uniform(0.1, 2, 30)
    a = fastbp.MLP([4, 6, 3], output="softmax", dtype="float64", seed=0)
    b = fastbp.MLP([4, 6, 3], output="softmax", dtype="float64", seed=0)
    a.fit(X, y, epochs=3, batch_size=7, lr=0.1, seed=0, sample_weight=w)
    b.fit(X, y, epochs=3, batch_size=7, lr=0.1, seed=0, sample_weight=1000 * w)
    for u, v in zip(a.weights, b.weights):
        np.testing.assert_allclose(u, v, rtol=1e-10)


def test_weighted_validation_figures():
    rng = np.random.default_rng(5)
    X, y = make_data(rng, 40, 4, 3, "softmax_ce", labels=True)
    Xv, yv = make_data(rng, 15, 4, 3, "softmax_ce", labels=True)
    wv = rng.uniform(0, 2, 15)
    net = fastbp.MLP([4, 6, 3], output="softmax", dtype="float64", seed=0)
    history = net.fit(X, y, epochs=2, lr=0.1, seed=0, validation_data=(Xv, yv, wv))
    assert history.val_loss[-1] == pytest.approx(net.loss(Xv, yv, sample_weight=wv), rel=1e-12)
    right = net.predict(Xv).argmax(axis=1) == yv
    assert history.val_accuracy[-1] == pytest.approx(np.average(right, weights=wv))


def test_validation_split_keeps_each_weight_with_its_row():
    rng = np.random.default_rng(6)
    X, T = make_data(rng, 20, 2, 1, "mse")
    w = np.arange(1, 21, dtype=float)
    net = fastbp.MLP([2, 3, 1], dtype="float64", seed=0)
    history = net.fit(X, T, epochs=1, lr=0.0 + 1e-12, validation_split=0.25, seed=7,
                      sample_weight=w)
    held = np.random.default_rng(7).permutation(20)[:5]
    assert history.val_loss[0] == pytest.approx(net.loss(X[held], T[held],
                                                         sample_weight=w[held]), rel=1e-9)


@pytest.mark.parametrize("weights,error,match", [
    (np.ones(4), ValueError, r"sample_weight: expected shape \(5,\), got \(4,\)"),
    (-np.ones(5), ValueError, "sample_weight: weights must be >= 0"),
    (np.array([1, np.nan, 1, 1, 1]), ValueError, "sample_weight: contains NaN"),
    (np.zeros(5), ValueError, "sample_weight: all the weights are zero"),
    (["a"] * 5, TypeError, "sample_weight: expected an array of real numbers"),
    (2.0, ValueError, "sample_weight: expected one weight per sample"),
])
def test_bad_weights_are_refused_by_name(weights, error, match):
    net = fastbp.MLP([2, 3, 1], seed=0)
    X, T = np.zeros((5, 2)), np.zeros((5, 1))
    for call in (net.loss, net.gradients, net.train_step, net.fit):
        with pytest.raises(error, match=match):
            call(X, T, sample_weight=weights)


# -- scikit-learn ------------------------------------------------------------------------------

sklearn = pytest.importorskip("sklearn")


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("extra", [dict(solver="sgd", momentum=0.9),
                                   dict(solver="adam"),
                                   dict(solver="lbfgs"),
                                   dict(solver="sgd", early_stopping=True,
                                        validation_fraction=0.25, n_iter_no_change=3)],
                         ids=["sgd", "adam", "lbfgs", "early-stopping"])
def test_weighted_estimators_equal_scikit_learns(kind, extra):
    from sklearn.neural_network import MLPClassifier as SkClassifier
    from sklearn.neural_network import MLPRegressor as SkRegressor

    from fastbp.sklearn import MLPClassifier, MLPRegressor
    rng = np.random.default_rng(8)
    X = rng.normal(size=(80, 4))
    y = rng.integers(0, 3, 80) if kind == "classifier" else X[:, 0] - X[:, 1] ** 2
    w = rng.uniform(0, 3, 80)
    params = dict(hidden_layer_sizes=(6,), activation="tanh", alpha=0.01, batch_size="auto",
                  learning_rate_init=0.05, max_iter=12, random_state=2, **extra)
    ours_cls, theirs_cls = ((MLPClassifier, SkClassifier) if kind == "classifier"
                            else (MLPRegressor, SkRegressor))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
        ours = ours_cls(**params).fit(X, y, sample_weight=w)
        theirs = theirs_cls(**params).fit(X, y, sample_weight=w)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.loss_, theirs.loss_, rtol=1e-7)
    if extra["solver"] != "lbfgs":
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-8)
    if extra.get("early_stopping"):
        np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_,
                                   rtol=1e-10)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-8)
    assert ours.score(X, y, sample_weight=w) == pytest.approx(
        theirs.score(X, y, sample_weight=w), rel=1e-5)


def test_class_weight_balanced_is_the_balanced_sample_weight():
    from sklearn.utils.class_weight import compute_sample_weight

    from fastbp.sklearn import MLPClassifier
    rng = np.random.default_rng(9)
    X = rng.normal(size=(90, 3))
    y = np.where(X[:, 0] > 1.0, "rare", "common")  # about 1 in 6
    params = dict(hidden_layer_sizes=(5,), max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
        a = MLPClassifier(class_weight="balanced", **params).fit(X, y)
        b = MLPClassifier(**params).fit(X, y, sample_weight=compute_sample_weight("balanced", y))
        c = MLPClassifier(class_weight={"rare": 5.0, "common": 1.0}, **params).fit(
            X, y, sample_weight=np.full(90, 2.0))
        d = MLPClassifier(**params).fit(X, y, sample_weight=np.where(y == "rare", 10.0, 2.0))
    for u, v in zip(a.coefs_, b.coefs_):
        np.testing.assert_array_equal(u, v)
    for u, v in zip(c.coefs_, d.coefs_):
        np.testing.assert_allclose(u, v, rtol=1e-12)
    assert "class_weight" in a.get_params()
    with pytest.raises(ValueError, match="class_weight='balanced' is not supported by "
                                         "partial_fit"):
        MLPClassifier(class_weight="balanced").partial_fit(X, y, classes=["common", "rare"])
