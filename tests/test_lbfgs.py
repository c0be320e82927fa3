"""L-BFGS: the flat-vector objective against the NumPy reference and finite differences (every
loss, both dtypes, odd sizes, 1-3 threads), scikit-learn's solver="lbfgs" against scikit-learn
itself, and MLP.fit(optimizer=fastbp.LBFGS())."""

import warnings

import numpy as np
import pytest

import fastbp
from fastbp import _core
from conftest import make_data, reference_of

pytest.importorskip("scipy")

CASES = [  # (layers, hidden, output, loss)
    ([1, 1], "identity", "identity", "mse"),
    ([7, 17, 3], "tanh", "softmax", "softmax_ce"),
    ([5, 9, 7, 2], "relu", "sigmoid", "bce"),
    ([17, 13, 4], "sigmoid", "identity", "mse"),
    ([3, 5, 2], "tanh", "exp", "poisson"),
]


def packed(weights, biases):
    return np.concatenate([w.ravel() for w in weights] + [b.ravel() for b in biases])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("layers,hidden,output,loss", CASES)
@pytest.mark.parametrize("n", [1, 7, 129])
def test_objective_is_the_reference_loss_and_gradient_with_l2(layers, hidden, output, loss,
                                                              n, dtype, threads):
    rng = np.random.default_rng(n + len(layers))
    net = fastbp.MLP(layers, hidden=hidden, output=output, loss=loss, dtype=dtype, seed=3)
    X, T = make_data(rng, n, layers[0], layers[-1], loss)
    theta = rng.normal(scale=0.5, size=net._net.flat_parameters().shape)
    l2, scale = 0.3, 1.0 / layers[-1]
    _core.reset_threads_used()
    value, grad = net._net.loss_and_gradient(theta, X.astype(dtype), T.astype(dtype), None,
                                             l2, scale)
    if n > 1:
        threads.assert_used()
    else:  # one sample of a small network: the online kernels, where a GEMM would start a team
        assert _core.threads_used() <= 1
    # the network now holds theta: the reference reads it back from the views
    net_theta = packed(net.weights, net.biases)
    np.testing.assert_allclose(net_theta, theta.astype(dtype))
    ref = reference_of(net)
    ref_loss = ref.loss(X.astype(dtype).astype(np.float64), T)
    dW, db = ref.gradients(X.astype(dtype).astype(np.float64), T)
    squares = sum(float(np.sum(np.asarray(w, np.float64) ** 2)) for w in net.weights)
    expected_grad = packed([g + l2 / n * np.asarray(w, np.float64)
                            for g, w in zip(dW, net.weights)], db)
    tol = 1e-10 if dtype == "float64" else 2e-4
    np.testing.assert_allclose(value, scale * ref_loss + 0.5 * l2 / n * squares, rtol=tol)
    np.testing.assert_allclose(grad, expected_grad, rtol=tol, atol=tol)


@pytest.mark.parametrize("layers,hidden,output,loss", CASES[1:])
def test_objective_gradient_matches_central_differences(layers, hidden, output, loss):
    rng = np.random.default_rng(1)
    net = fastbp.MLP(layers, hidden=hidden, output=output, loss=loss, dtype="float64", seed=1)
    X, T = make_data(rng, 11, layers[0], layers[-1], loss)
    theta = net._net.flat_parameters()
    _, grad = net._net.loss_and_gradient(theta, X, T, None, 0.1, 1.0)
    eps, numeric = 1e-6, np.empty_like(theta)
    for i in range(theta.size):
        step = np.zeros_like(theta)
        step[i] = eps
        up = net._net.loss_and_gradient(theta + step, X, T, None, 0.1, 1.0)[0]
        down = net._net.loss_and_gradient(theta - step, X, T, None, 0.1, 1.0)[0]
        numeric[i] = (up - down) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


def test_objective_rejects_wrong_sizes_with_a_clear_error():
    net = fastbp.MLP([3, 4, 2], dtype="float64")
    X, T = np.zeros((5, 3)), np.zeros((5, 2))
    with pytest.raises(ValueError, match=r"parameters: expected shape \(26,\), got \(25,\)"):
        net._net.loss_and_gradient(np.zeros(25), X, T, None)
    with pytest.raises(ValueError, match="l2"):
        net._net.loss_and_gradient(np.zeros(26), X, T, None, -1.0)
    with pytest.raises(ValueError, match=r"parameters: expected shape"):
        net._net.set_flat_parameters(np.zeros(27))


# -- scikit-learn's solver="lbfgs" ------------------------------------------------------------

sklearn = pytest.importorskip("sklearn")


def both(kind, **params):
    import sklearn.neural_network as theirs

    import fastbp.sklearn as ours
    return getattr(ours, kind)(**params), getattr(theirs, kind)(**params)


@pytest.mark.parametrize("kind,target", [("MLPClassifier", "binary"),
                                         ("MLPClassifier", "multiclass"),
                                         ("MLPClassifier", "multilabel"),
                                         ("MLPRegressor", "multioutput")])
def test_lbfgs_estimators_follow_scikit_learn_step_for_step(kind, target):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 6))
    y = {"binary": (X[:, 0] > 0).astype(int),
         "multiclass": np.digitize(X[:, 0], [-0.5, 0.5]),
         "multilabel": (X[:, :3] > 0).astype(int),
         "multioutput": np.column_stack([X[:, 0] * X[:, 1], np.sin(X[:, 2])])}[target]
    ours, theirs = both(kind, solver="lbfgs", hidden_layer_sizes=(9,), activation="tanh",
                        alpha=1e-3, max_iter=15, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
        ours.fit(X, y)
        theirs.fit(X, y)
    # the same start, the same objective to rounding: the same iterates, to rounding growth
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.loss_, theirs.loss_, rtol=1e-6)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    assert not hasattr(ours, "loss_curve_") and not hasattr(theirs, "loss_curve_")


def test_lbfgs_warns_when_it_stops_at_max_iter_and_has_no_partial_fit():
    from fastbp.sklearn import MLPClassifier
    X = np.random.RandomState(0).normal(size=(40, 4))
    y = (X[:, 0] > 0).astype(int)
    clf = MLPClassifier(solver="lbfgs", max_iter=3, random_state=0)
    with pytest.warns(sklearn.exceptions.ConvergenceWarning,
                      match=r"lbfgs failed to converge after 3 iteration\(s\)"):
        clf.fit(X, y)
    assert clf.n_iter_ == 3
    assert not hasattr(clf, "partial_fit")
    with pytest.warns(sklearn.exceptions.ConvergenceWarning, match="max_fun|STOP"):
        MLPClassifier(solver="lbfgs", max_fun=5, max_iter=100, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="max_fun"):
        MLPClassifier(solver="lbfgs", max_fun=0).fit(X, y)


def test_lbfgs_in_float32_reaches_the_float64_solution():
    from sklearn.datasets import load_iris

    from fastbp.sklearn import MLPClassifier
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    scores = {dtype: MLPClassifier(solver="lbfgs", hidden_layer_sizes=(16,), max_iter=500,
                                   random_state=0, dtype=dtype).fit(X, y).score(X, y)
              for dtype in ("float32", "float64")}
    assert scores["float64"] > 0.97 and abs(scores["float32"] - scores["float64"]) <= 0.02


def test_assigned_coefs_are_the_weights_the_next_fit_starts_from():
    from fastbp.sklearn import MLPRegressor
    X = np.random.RandomState(0).normal(size=(20, 3))
    y = X[:, 0]
    reg = MLPRegressor(hidden_layer_sizes=(4,), solver="sgd", max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
        reg.fit(X, y)
        coefs = [np.full((3, 4), 0.25), np.full((4, 1), -0.5)]
        reg.coefs_ = coefs
        reg.intercepts_ = [np.zeros(4), np.array([1.0])]
        np.testing.assert_allclose(reg.predict(X), 1.0 - 0.5 * 4 * np.maximum(
            X.sum(axis=1) * 0.25, 0))
        assert reg.coefs_[0] is not coefs[0]  # the model's live views again
        reg.coefs_ = [np.zeros((2, 4)), np.zeros((4, 1))]
        with pytest.raises(ValueError, match=r"coefs_\[0\]: expected shape \(3, 4\), got "
                                             r"\(2, 4\)"):
            reg.predict(X)


# -- MLP.fit(optimizer=fastbp.LBFGS()) --------------------------------------------------------

def xor():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    return X, np.array([0, 1, 1, 0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_mlp_fit_with_lbfgs_logs_one_epoch_per_iteration(dtype):
    X, y = xor()
    net = fastbp.MLP([2, 8, 2], hidden="tanh", output="softmax", dtype=dtype, seed=0)
    seen = []
    history = net.fit(X, y, epochs=50, optimizer=fastbp.LBFGS(tol=0.0),
                      callbacks=[lambda log: seen.append(log["loss"])])
    assert len(history) == len(seen) <= 50
    assert history.loss == pytest.approx(seen)
    assert history.loss[-1] < 1e-3 and net.loss(X, y) == pytest.approx(history.loss[-1],
                                                                       rel=1e-3, abs=1e-6)
    assert (net.predict(X).argmax(axis=1) == y).all()


def test_mlp_fit_with_lbfgs_stops_early_and_restores_the_best_weights():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 5))
    y = (X[:, 0] + 0.8 * rng.normal(size=80) > 0).astype(int)  # noisy: it will overfit
    net = fastbp.MLP([5, 64, 2], hidden="tanh", output="softmax", dtype="float64", seed=0)
    history = net.fit(X, y, epochs=500, optimizer=fastbp.LBFGS(tol=0.0),
                      validation_split=0.25, patience=5, seed=0)
    assert len(history) < 500 and len(history) - history.best_epoch == 5
    best = history.val_loss[history.best_epoch - 1]
    X_val = X[np.random.default_rng(0).permutation(80)[:20]]
    y_val = y[np.random.default_rng(0).permutation(80)[:20]]
    assert net.loss(X_val, y_val) == pytest.approx(best, rel=1e-9)
    assert not np.isnan(history.val_accuracy).any()


def test_mlp_fit_with_lbfgs_stops_when_a_callback_says_so():
    X, y = xor()
    net = fastbp.MLP([2, 8, 2], hidden="tanh", output="softmax", dtype="float64", seed=0)
    history = net.fit(X, y, epochs=100, optimizer=fastbp.LBFGS(),
                      callbacks=[lambda log: log["epoch"] < 3])
    assert len(history) == 3


@pytest.mark.parametrize("argument", [{"lr": 0.1}, {"momentum": 0.9}, {"batch_size": 2},
                                      {"lr_schedule": "step"}])
def test_mlp_fit_with_lbfgs_refuses_what_it_has_no_use_for(argument):
    X, y = xor()
    net = fastbp.MLP([2, 4, 2], output="softmax")
    name = next(iter(argument))
    with pytest.raises(ValueError, match=f"{name}: fastbp.LBFGS trains on the whole data set"):
        net.fit(X, y, optimizer=fastbp.LBFGS(), **argument)


@pytest.mark.parametrize("field,value,error", [("max_fun", 0, ValueError),
                                               ("tol", -1.0, ValueError),
                                               ("history_size", 2.5, TypeError),
                                               ("weight_decay", float("nan"), ValueError)])
def test_lbfgs_settings_are_checked(field, value, error):
    with pytest.raises(error, match=field):
        fastbp.LBFGS(**{field: value})


def test_lbfgs_divergence_leaves_finite_weights():
    X = np.full((8, 2), 1e200)
    net = fastbp.MLP([2, 4, 1], hidden="identity", dtype="float64", seed=0)
    with pytest.raises(fastbp.DivergenceError) as caught:
        net.fit(X, np.full(8, 1e200), epochs=20, optimizer=fastbp.LBFGS())
    assert all(np.isfinite(w).all() for w in net.weights + net.biases)
    assert caught.value.history is not None


def test_lbfgs_validation_accuracy_counts_each_sigmoid_output_as_the_compiled_loop():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 4))
    T = (rng.normal(size=(40, 3)) > 0).astype(float)
    Xv, Tv = X[:15], T[:15]
    net = fastbp.MLP([4, 6, 3], hidden="tanh", output="sigmoid", dtype="float64", seed=0)
    history = net.fit(X, T, epochs=3, optimizer=fastbp.LBFGS(), validation_data=(Xv, Tv))
    compiled = fastbp.MLP([4, 6, 3], hidden="tanh", output="sigmoid", dtype="float64", seed=0)
    for u, v in zip(compiled.weights + compiled.biases, net.weights + net.biases):
        u[...] = v
    logged = compiled.fit(X, T, epochs=1, lr=1e-300, validation_data=(Xv, Tv))
    assert history.val_accuracy[-1] == pytest.approx(logged.val_accuracy[0])


def test_the_objective_is_one_training_call():
    """Another thread's predictions see the parameters before or after an evaluation, never
    half of each: every evaluation sets all of them at once under the training lock."""
    import threading
    net = fastbp.MLP([64, 256, 1], dtype="float64", seed=0)
    X, T = np.ones((8, 64)), np.zeros((8, 1))
    a = np.zeros(net._net.flat_parameters().size)
    b = np.full(a.size, 1e-3)
    net._net.set_flat_parameters(a)  # (the watcher must not see the initial weights either)
    seen, stop = set(), threading.Event()

    def watch():
        while not stop.is_set():
            seen.add(round(float(net.predict(X[:1])[0, 0]), 9))
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for _ in range(300):
            net._net.loss_and_gradient(a, X, T, None)
            net._net.loss_and_gradient(b, X, T, None)
    finally:
        stop.set()
        watcher.join()
    expected = set()
    for theta in (a, b):
        net._net.set_flat_parameters(theta)
        expected.add(round(float(net.predict(X[:1])[0, 0]), 9))
    assert seen <= expected, f"a prediction saw a half-written model: {seen - expected}"
