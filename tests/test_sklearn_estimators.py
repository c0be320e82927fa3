"""fastbp.sklearn against scikit-learn: its own estimator checks, meta-estimators, pickling, and
agreement with sklearn.neural_network on the same hyperparameters."""

import pickle
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_iris, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from fastbp.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

# Short fits hit max_iter, as with scikit-learn's own MLP; tests that care use pytest.warns.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@parametrize_with_checks([MLPClassifier(max_iter=100), MLPRegressor(max_iter=100)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def test_fitted_attributes_match_sklearn(iris):
    from sklearn.neural_network import MLPClassifier as SkMLP
    X, y = iris
    ours = MLPClassifier(hidden_layer_sizes=(8, 5), max_iter=20, random_state=0)
    theirs = SkMLP(hidden_layer_sizes=(8, 5), max_iter=20, random_state=0)
    with pytest.warns(ConvergenceWarning):
        ours.fit(X, y)
    with pytest.warns(ConvergenceWarning):
        theirs.fit(X, y)
    for name in ("coefs_", "intercepts_", "loss_", "loss_curve_", "best_loss_", "n_iter_",
                 "classes_", "n_features_in_", "out_activation_", "n_layers_", "n_outputs_",
                 "t_"):
        assert hasattr(ours, name), name
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]
    assert [b.shape for b in ours.intercepts_] == [b.shape for b in theirs.intercepts_]
    assert (ours.n_iter_, ours.t_, ours.out_activation_, ours.n_layers_, ours.n_outputs_) == \
        (theirs.n_iter_, theirs.t_, theirs.out_activation_, theirs.n_layers_, theirs.n_outputs_)
    assert list(ours.classes_) == list(theirs.classes_)
    assert ours.predict_proba(X).shape == theirs.predict_proba(X).shape
    np.testing.assert_allclose(ours.predict_proba(X).sum(1), 1, rtol=1e-6)


def test_loss_curve_is_scikit_learns_loss():
    """The reported loss is scikit-learn's: data loss (squared error halved and averaged over
    outputs) plus the L2 term."""
    X, y = make_regression(n_samples=120, n_features=5, n_targets=3, random_state=0)
    y = y / y.std()
    reg = MLPRegressor(hidden_layer_sizes=(7,), alpha=0.5, max_iter=1, solver="sgd",
                       learning_rate_init=1e-12, batch_size=120, shuffle=False, random_state=0)
    with pytest.warns(ConvergenceWarning):
        reg.fit(X, y)
    p = reg.predict(X)  # the weights have (all but) not moved
    expected = ((y - p) ** 2).mean() / 2 + 0.5 * 0.5 * sum((c ** 2).sum() for c in reg.coefs_) / 120
    np.testing.assert_allclose(reg.loss_, expected, rtol=1e-6)


def test_pipeline_gridsearch_clone_pickle(iris):
    X, y = iris
    pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=300, random_state=0,
                                                         learning_rate_init=0.01))
    search = GridSearchCV(pipe, {"mlpclassifier__hidden_layer_sizes": [(4,), (16,)],
                                 "mlpclassifier__alpha": [1e-4, 1e-2]}, cv=3)
    search.fit(X, y)
    assert search.best_score_ > 0.9
    best = search.best_estimator_
    restored = pickle.loads(pickle.dumps(best))
    np.testing.assert_array_equal(restored.predict_proba(X), best.predict_proba(X))
    fresh = clone(best)
    assert not hasattr(fresh[-1], "coefs_")
    assert fresh.get_params()["mlpclassifier__alpha"] == best.get_params()["mlpclassifier__alpha"]


def test_partial_fit_and_warm_start(iris):
    X, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(10,), random_state=0, learning_rate_init=0.01)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    for _ in range(50):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    # scikit-learn's counting: n_iter_ is each call's own epochs, t_ and loss_curve_ add up
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 50 and clf.t_ == 50 * len(X)
    assert clf.score(X, y) > 0.9
    with pytest.raises(ValueError, match="not in `self.classes_`"):
        clf.partial_fit(X, y + 5)
    warm = MLPClassifier(hidden_layer_sizes=(10,), max_iter=5, warm_start=True, random_state=0)
    with pytest.warns(ConvergenceWarning):
        warm.fit(X, y)
    first = [c.copy() for c in warm.coefs_]
    with pytest.warns(ConvergenceWarning):
        warm.fit(X, y)
    assert warm.n_iter_ == 5 and len(warm.loss_curve_) == 10
    assert any(not np.array_equal(a, b) for a, b in zip(first, warm.coefs_))


def test_early_stopping_keeps_the_best_validation_weights(iris):
    X, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(16,), early_stopping=True, validation_fraction=0.2,
                        n_iter_no_change=5, max_iter=500, random_state=0,
                        learning_rate_init=0.01)
    clf.fit(X, y)
    assert clf.best_loss_ is None and len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.n_iter_ < 500


def test_multilabel_and_binary_and_multioutput():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    Y = np.stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0], axis=1).astype(int)
    clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=0).fit(X, Y)
    assert clf.out_activation_ == "logistic" and clf.predict(X).shape == (300, 2)
    assert clf.score(X, Y) > 0.85
    binary = MLPClassifier(max_iter=300, random_state=0).fit(X, np.where(Y[:, 0], "yes", "no"))
    assert binary.out_activation_ == "logistic" and set(binary.predict(X)) == {"yes", "no"}
    assert binary.predict_proba(X).shape == (300, 2)
    reg = MLPRegressor(hidden_layer_sizes=(32,), max_iter=500, random_state=0)
    reg.fit(X, np.stack([X[:, 0] * 2, X[:, 1] - X[:, 2]], axis=1))
    assert reg.predict(X).shape == (300, 2) and reg.score(
        X, np.stack([X[:, 0] * 2, X[:, 1] - X[:, 2]], axis=1)) > 0.9


@pytest.mark.parametrize("solver,learning_rate", [("sgd", "constant"), ("sgd", "invscaling"),
                                                  ("sgd", "adaptive"), ("adam", "constant")])
def test_solvers_train_like_sklearn(iris, solver, learning_rate):
    from sklearn.neural_network import MLPClassifier as SkMLP
    X, y = iris
    params = dict(hidden_layer_sizes=(16,), solver=solver, learning_rate=learning_rate,
                  learning_rate_init=0.1 if solver == "sgd" else 0.01, max_iter=300,
                  power_t=0.25)  # 0.5 decays so fast that either library may stall at random
    ours = [MLPClassifier(**params, random_state=s).fit(X, y) for s in range(3)]
    theirs = [SkMLP(**params, random_state=s).fit(X, y) for s in range(3)]
    assert np.mean([m.score(X, y) for m in ours]) >= np.mean([m.score(X, y) for m in theirs]) - 0.06
    # the same stopping rules: similar epoch counts
    assert abs(np.mean([m.n_iter_ for m in ours]) - np.mean([m.n_iter_ for m in theirs])) < 60


def test_rprop_solver_learns(iris):
    X, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(16,), solver="rprop", max_iter=300, random_state=0)
    assert clf.fit(X, y).score(X, y) > 0.95


@pytest.mark.parametrize("param,value,error", [
    ("max_fun", 0, "max_fun"), ("solver", "newton", "solver"),
    ("activation", "softmax", "activation"), ("hidden_layer_sizes", (0,), "hidden_layer_sizes"),
    ("hidden_layer_sizes", "10", "hidden_layer_sizes"), ("alpha", -1.0, "alpha"),
    ("batch_size", 0, "batch_size"), ("learning_rate_init", 0.0, "learning_rate_init"),
    ("max_iter", 0, "max_iter"), ("momentum", 1.5, "momentum"), ("beta_2", 1.0, "beta_2"),
    ("n_iter_no_change", 0, "n_iter_no_change"), ("validation_fraction", 1.0,
                                                  "validation_fraction"),
    ("dtype", "int32", "dtype"), ("shuffle", "yes", "shuffle")])
def test_bad_parameters_raise_on_fit(iris, param, value, error):
    X, y = iris
    with pytest.raises((ValueError, TypeError), match=error):
        MLPClassifier(**{param: value}).fit(X, y)


@pytest.mark.parametrize("solver,extra", [("sgd", dict(momentum=0.9, nesterovs_momentum=True)),
                                          ("sgd", dict(momentum=0.5, nesterovs_momentum=False)),
                                          ("sgd", dict(momentum=0.0)), ("adam", {})])
@pytest.mark.parametrize("kind", ["classifier", "binary", "regressor-1", "regressor-3"])
def test_full_batch_steps_equal_sklearns(solver, extra, kind):
    """Same initial weights and full batches (so the sample order does not matter): a few
    epochs give scikit-learn's weights and loss curve."""
    from sklearn.neural_network import MLPClassifier as SkClassifier
    from sklearn.neural_network import MLPRegressor as SkRegressor
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5))
    if kind == "classifier":
        y = rng.integers(0, 3, 60)
    elif kind == "binary":
        y = rng.integers(0, 2, 60)
    else:
        y = rng.normal(size=(60, int(kind[-1]))).squeeze()
    params = dict(hidden_layer_sizes=(7, 4), activation="tanh", solver=solver, alpha=0.3,
                  batch_size=60, learning_rate_init=0.05, max_iter=4, random_state=1, **extra)
    ours_cls, theirs_cls = ((MLPClassifier, SkClassifier) if kind in ("classifier", "binary")
                            else (MLPRegressor, SkRegressor))
    ours, theirs = ours_cls(**params).fit(X, y), theirs_cls(**params).fit(X, y)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("extra", [
    dict(solver="sgd", learning_rate="invscaling", power_t=0.3),
    dict(solver="sgd", learning_rate="adaptive", momentum=0.5, tol=0.05, n_iter_no_change=2),
    dict(solver="sgd", learning_rate="constant", tol=0.02, n_iter_no_change=3),
    dict(solver="adam", tol=0.01, n_iter_no_change=2),
    dict(solver="sgd", early_stopping=True, validation_fraction=0.25, tol=0.01,
         n_iter_no_change=3),
    dict(solver="adam", early_stopping=True, validation_fraction=0.25, n_iter_no_change=3),
], ids=["invscaling", "adaptive", "tol-stop", "adam-tol-stop", "early-stopping-sgd",
        "early-stopping-adam"])
def test_schedules_stopping_rules_and_attributes_equal_sklearns(kind, extra):
    """Full batches (so the sample order does not matter): scikit-learn's learning-rate
    schedules, its n_iter_no_change/tol rule (including "adaptive" cutting the rate instead of
    stopping) and early stopping on the validation score give the same epochs, weights and
    fitted attributes, by value."""
    from sklearn.neural_network import MLPClassifier as SkClassifier
    from sklearn.neural_network import MLPRegressor as SkRegressor
    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 4))
    y = rng.integers(0, 3, 80) if kind == "classifier" else X[:, 0] - X[:, 1] ** 2
    params = dict(hidden_layer_sizes=(6,), activation="relu", alpha=0.01, batch_size=200,
                  learning_rate_init=0.1, max_iter=150, random_state=2, **extra)
    ours_cls, theirs_cls = ((MLPClassifier, SkClassifier) if kind == "classifier"
                            else (MLPRegressor, SkRegressor))
    with warnings.catch_warnings(record=True) as ours_warnings:
        warnings.simplefilter("always")
        ours = ours_cls(**params).fit(X, y)
    with warnings.catch_warnings(record=True) as theirs_warnings:
        warnings.simplefilter("always")
        theirs = theirs_cls(**params).fit(X, y)
    assert ([type(w.message) for w in ours_warnings] ==
            [type(w.message) for w in theirs_warnings])
    assert ours.n_iter_ == theirs.n_iter_ and ours.t_ == theirs.t_
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-8)
    np.testing.assert_allclose(ours.loss_, theirs.loss_, rtol=1e-8)
    if extra.get("early_stopping"):
        assert ours.best_loss_ is None and theirs.best_loss_ is None
        np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_,
                                   rtol=1e-12)
        np.testing.assert_allclose(ours.best_validation_score_, theirs.best_validation_score_,
                                   rtol=1e-12)
    else:
        np.testing.assert_allclose(ours.best_loss_, theirs.best_loss_, rtol=1e-8)
        assert ours.validation_scores_ is None and theirs.validation_scores_ is None
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-10)
    for name in ("n_layers_", "n_outputs_", "out_activation_", "n_features_in_"):
        assert getattr(ours, name) == getattr(theirs, name), name
    if kind == "classifier":
        np.testing.assert_array_equal(ours.classes_, theirs.classes_)


@pytest.mark.parametrize("solver,extra", [("lbfgs", {}), ("sgd", dict(momentum=0.5)),
                                          ("adam", {})])
@pytest.mark.parametrize("outputs", [1, 2])
def test_poisson_regressor_equals_scikit_learns(solver, extra, outputs):
    """loss="poisson": the exp output and half the Poisson deviance, step for step with
    scikit-learn (full batches)."""
    from sklearn.neural_network import MLPRegressor as SkRegressor
    rng = np.random.default_rng(4)
    X = rng.normal(size=(70, 3))
    y = rng.poisson(np.exp(0.5 * X[:, :outputs] + 0.3)).astype(float).squeeze()
    params = dict(loss="poisson", hidden_layer_sizes=(5,), activation="tanh", solver=solver,
                  alpha=0.01, batch_size=70, learning_rate_init=0.02, max_iter=10,
                  random_state=0, **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours, theirs = MLPRegressor(**params).fit(X, y), SkRegressor(**params).fit(X, y)
    assert ours.out_activation_ == theirs.out_activation_ == "exp"
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.loss_, theirs.loss_, rtol=1e-7)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-6)
    with pytest.raises(ValueError, match="negative"):
        MLPRegressor(loss="poisson").fit(X, -np.ones(70))
    with pytest.raises(ValueError, match="loss"):
        MLPRegressor(loss="absolute_error").fit(X, y)


def test_poisson_overflow_in_float32_is_refused_not_trained_on():
    net = fastbp_module().MLP([1, 1], output="exp", dtype="float32", seed=0)
    net.weights[0][...] = 1.0
    with pytest.raises(fastbp_module().DivergenceError, match="infinite"):
        net.train_step(np.array([[100.0]], np.float32), np.array([[1.0]], np.float32), lr=0.01)
    assert net.weights[0][0, 0] == 1.0
    with pytest.raises(ValueError, match="poisson targets must be >= 0"):
        net.loss(np.zeros((2, 1), np.float32), np.array([[1.0], [-1.0]], np.float32))


def fastbp_module():
    import fastbp
    return fastbp


def test_scalar_sample_weight_broadcasts_and_a_changed_loss_needs_a_fresh_fit():
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(30, 2)), rng.poisson(2.0, 30).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = MLPRegressor(hidden_layer_sizes=(3,), max_iter=5, random_state=0).fit(
            X, y, sample_weight=2.0)
        b = MLPRegressor(hidden_layer_sizes=(3,), max_iter=5, random_state=0).fit(
            X, y, sample_weight=np.full(30, 2.0))
        np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])
        a.set_params(loss="poisson", warm_start=True)
        with pytest.raises(ValueError, match="'exp' output, the fitted model has 'identity'"):
            a.fit(X, y)
        a.set_params(warm_start=False)
        assert a.fit(X, y).out_activation_ == "exp"


def test_assigned_coefs_are_ignored_by_a_fresh_fit_as_in_scikit_learn():
    rng = np.random.default_rng(6)
    X, y = rng.normal(size=(30, 2)), rng.normal(size=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = MLPRegressor(hidden_layer_sizes=(3,), max_iter=3, random_state=0).fit(X, y)
        reg = MLPRegressor(hidden_layer_sizes=(3,), max_iter=3, random_state=0)
        reg.coefs_ = [np.zeros((5, 5))]  # wrong shapes: a fresh fit does not look at them
        reg.fit(X, y)
    np.testing.assert_array_equal(reg.coefs_[0], reference.coefs_[0])
