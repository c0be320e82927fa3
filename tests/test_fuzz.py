"""Fuzzing every public entry point with hypothesis: whatever the input, the call either works or
raises a clear ValueError / TypeError / MemoryError (or DivergenceError when valid data makes
training diverge) — never a crash, a hang or a silently wrong result.

CI runs FASTBP_FUZZ_EXAMPLES examples per test (default 200). A long campaign:

    FASTBP_FUZZ_EXAMPLES=100000 python -m pytest tests/test_fuzz.py -x -p no:cacheprovider
"""

import os
import warnings

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import fastbp  # noqa: E402
from conftest import reference_of  # noqa: E402

EXAMPLES = int(os.environ.get("FASTBP_FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])
CLEAR_ERRORS = (ValueError, TypeError, MemoryError, fastbp.DivergenceError)

DTYPES = [np.bool_, np.int8, np.int32, np.int64, np.uint16, np.float16, np.float32, np.float64,
          np.complex64, np.object_, np.str_]
SPECIAL = [0.0, 1.0, -1.0, np.nan, np.inf, -np.inf, 1e30, -1e30, 1e-30, 3.4e38, 1e300]


@st.composite
def arrays(draw, max_dims=3, max_side=6):
    """Arrays of any dtype and small shape (including empty), sometimes non-contiguous or
    read-only, with special values mixed in."""
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=0, max_side=max_side))
    if dtype is np.object_:
        values = draw(st.lists(st.one_of(st.floats(), st.text(max_size=2), st.none()),
                               min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
        array = np.array(values + [None], dtype=object)[:-1].reshape(shape)
    elif dtype is np.str_:
        array = np.full(shape, "x")
    elif np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.complexfloating):
        with np.errstate(over="ignore", invalid="ignore"):
            array = draw(hnp.arrays(np.float64, shape, elements=st.one_of(
                st.sampled_from(SPECIAL), st.floats(-10, 10)))).astype(dtype)
    else:
        array = draw(hnp.arrays(dtype, shape))
    if array.ndim >= 1 and array.shape[-1] > 1 and draw(st.booleans()):
        array = array[..., ::2]  # non-contiguous view
    if draw(st.booleans()):
        array.setflags(write=False)
    return array


def good_matrix(draw, n_rows, n_cols, dtype=np.float64):
    return draw(hnp.arrays(dtype, (n_rows, n_cols), elements=st.floats(-3, 3, width=32)))


anything = st.one_of(arrays(), st.none(), st.integers(), st.floats(), st.text(max_size=3),
                     st.lists(st.integers(), max_size=3), st.just(object()))


def call(fn, *args, **kwargs):
    """Runs fn; a clear error is fine, any other exception fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn(*args, **kwargs)
        except CLEAR_ERRORS as exc:
            assert str(exc), f"{type(exc).__name__} without a message"
            return exc


@st.composite
def networks(draw):
    sizes = draw(st.lists(st.integers(1, 9), min_size=2, max_size=4))
    output = draw(st.sampled_from(["identity", "sigmoid", "tanh", "softmax", "relu", "gelu"]))
    loss = {"softmax": "softmax_ce", "sigmoid": draw(st.sampled_from(["bce", "mse"]))}.get(
        output, draw(st.sampled_from(["mse", "huber"])))
    if output == "softmax":
        sizes[-1] = max(sizes[-1], 2)
    return fastbp.MLP(sizes, hidden=draw(st.sampled_from(["relu", "tanh", "sigmoid",
                                                         "leaky_relu", "identity", "elu",
                                                         "softplus", "silu", "gelu",
                                                         "gelu_tanh"])),
                      output=output, loss=loss, dtype=draw(st.sampled_from(["float32",
                                                                            "float64"])),
                      seed=draw(st.integers(0, 2**64 - 1)))


@FUZZ
# Sizes are small or far beyond any machine (2^40 and up): a model of a few tens of GB can be
# granted by an overcommitting kernel and then kill the test process when it is first touched.
@given(layers=st.one_of(anything, st.lists(st.one_of(st.integers(-3, 300),
                                                     st.integers(2**40, 2**62), st.floats(),
                                                     st.booleans()), max_size=4)),
       hidden=st.one_of(st.sampled_from(["relu", "softmax", "bogus", ""]), anything),
       output=st.one_of(st.sampled_from(["identity", "softmax", "sigmoid"]), anything),
       loss=st.one_of(st.none(), st.sampled_from(["mse", "bce", "softmax_ce", "huber", "x"]),
                      st.builds(fastbp.losses.Huber, st.floats(1e-6, 1e6))),
       dtype=st.one_of(st.sampled_from(["float32", "float64", "float16", "int32"]), anything),
       seed=st.one_of(st.none(), st.integers(-5, 2**65), anything))
def test_constructor(layers, hidden, output, loss, dtype, seed):
    net = call(fastbp.MLP, layers, hidden=hidden, output=output, loss=loss, dtype=dtype,
               seed=seed)
    if isinstance(net, fastbp.MLP):
        assert all(np.isfinite(w).all() for w in net.weights)


@FUZZ
@given(net=networks(), X=st.one_of(arrays(), anything), T=st.one_of(arrays(max_dims=2),
                                                                      anything),
       data=st.data())
def test_inference_and_training_on_arbitrary_arrays(net, X, T, data):
    for method in (net.predict, lambda x: net.loss(x, T), lambda x: net.gradients(x, T),
                   lambda x: net.train_step(x, T, lr=0.01)):
        result = call(method, X)
        if isinstance(result, np.ndarray):
            assert result.shape == (np.asarray(X).shape[0], net.layers[-1])
    # No silently wrong result: an X that predict accepts, of moderate values, with finite
    # weights, gives finite outputs equal to the independent float64 reference's.
    prediction = call(net.predict, X)
    # A Predictor of the same weights accepts and refuses what predict does, and serves the same
    # outputs, bit for bit.
    served = call(fastbp.Predictor(net).predict, X)
    assert isinstance(served, np.ndarray) == isinstance(prediction, np.ndarray), (served,
                                                                                 prediction)
    if isinstance(prediction, np.ndarray):
        np.testing.assert_array_equal(served, prediction)
    weights_finite = all(np.isfinite(w).all() for w in net.weights + net.biases)
    if isinstance(prediction, np.ndarray) and weights_finite:
        x = np.asarray(X).astype(net.dtype).astype(np.float64)
        if np.all(np.abs(x) <= 10):
            assert np.isfinite(prediction).all(), "finite input and weights, non-finite output"
            tol = 1e-4 if net.dtype == np.float32 else 1e-10
            np.testing.assert_allclose(prediction, reference_of(net).predict(x), rtol=tol,
                                       atol=tol)
    # A well-formed call on the same model still works afterwards.
    x_ok = good_matrix(data.draw, 3, net.layers[0], net.dtype)
    assert np.isfinite(net.predict(x_ok)).all() or not all(
        np.isfinite(w).all() for w in net.weights)


@FUZZ
@given(net=networks(), n=st.integers(1, 12), data=st.data(),
       epochs=st.one_of(st.integers(-2, 3), anything), batch_size=st.one_of(
           st.none(), st.integers(-2, 20), anything),
       lr=st.one_of(st.none(), st.floats(allow_nan=True), st.sampled_from([0.0, -1.0, 1e6])),
       optimizer=st.one_of(st.none(), st.sampled_from(["sgd", "adam", "adamw", "rprop", "x"]),
                           st.builds(fastbp.LBFGS, max_fun=st.integers(1, 50)), anything),
       schedule=st.one_of(st.none(), st.sampled_from(["constant", "invscaling", "step",
                                                       "exponential", "adaptive", "x"]),
                          anything),
       validation_split=st.one_of(st.floats(-1, 2), anything),
       patience=st.one_of(st.none(), st.integers(-1, 3), anything),
       sample_weight=st.one_of(st.none(), st.just("one per row"), arrays(max_dims=1),
                               anything))
def test_fit_arguments(net, n, data, epochs, batch_size, lr, optimizer, schedule,
                       validation_split, patience, sample_weight):
    X = good_matrix(data.draw, n, net.layers[0], net.dtype)
    if net.loss_name == "softmax_ce":
        T = data.draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, net.layers[-1] - 1)))
    elif net.loss_name == "bce":
        T = data.draw(hnp.arrays(np.float64, (n, net.layers[-1]), elements=st.floats(0, 1)))
    else:
        T = good_matrix(data.draw, n, net.layers[-1])
    if isinstance(sample_weight, str):
        sample_weight = data.draw(hnp.arrays(np.float64, (n,), elements=st.one_of(
            st.floats(0, 1e6), st.sampled_from([0.0, -1.0, np.nan, np.inf, 1e300]))))
    result = call(net.fit, X, T, epochs=epochs, batch_size=batch_size, lr=lr,
                  optimizer=optimizer if lr is None else None, lr_schedule=schedule,
                  validation_split=validation_split, patience=patience, seed=0,
                  sample_weight=sample_weight)
    if isinstance(result, fastbp.History):
        assert all(np.isfinite(v) for v in result.loss)
    assert all(np.isfinite(w).all() for w in net.weights + net.biases), \
        "training must never leave non-finite weights"


@FUZZ
@given(x=st.one_of(arrays(max_dims=2), anything), W=st.one_of(arrays(max_dims=2), anything),
       b=st.one_of(arrays(max_dims=1), anything), activation=st.sampled_from(
           ["relu", "softmax", "tanh", "x"]), lr=st.one_of(st.floats(), anything))
def test_functional_api(x, W, b, activation, lr):
    out = call(fastbp.dense_forward, x, W, b, activation)
    if isinstance(out, np.ndarray):
        assert out.shape == (np.asarray(x).shape[0], np.asarray(W).shape[1])
    call(fastbp.dense_backward, x, x, W, x, activation)
    call(fastbp.dense_backward_sgd, x, x, W, b, x, activation, lr)


@FUZZ
@given(kind=st.sampled_from([fastbp.SGD, fastbp.Adam, fastbp.AdamW, fastbp.RProp, fastbp.Lion,
                             fastbp.LBFGS, fastbp.losses.Huber,
                             fastbp.StepLR, fastbp.ExponentialLR, fastbp.InverseScalingLR,
                             fastbp.ReduceLROnPlateau]),
       values=st.lists(st.one_of(st.floats(), st.integers(-3, 3), st.booleans(), anything),
                       max_size=4))
def test_optimizer_and_schedule_settings(kind, values):
    call(kind, *values)


@FUZZ
@given(contents=st.binary(max_size=600), data=st.data())
def test_load_rejects_arbitrary_bytes(tmp_path_factory, contents, data):
    path = tmp_path_factory.mktemp("fuzz") / "model.npz"
    net = fastbp.MLP([3, 4, 2], seed=0)
    net.save(path)
    good = path.read_bytes()
    mode = data.draw(st.sampled_from(["random", "truncate", "flip"]))
    if mode == "random":
        blob = contents
    elif mode == "truncate":
        blob = good[:data.draw(st.integers(0, len(good) - 1))]
    else:
        blob = bytearray(good)
        for _ in range(data.draw(st.integers(1, 8))):
            i = data.draw(st.integers(0, len(blob) - 1))
            blob[i] ^= data.draw(st.integers(1, 255))
        blob = bytes(blob)
    path.write_bytes(blob)
    loaded = call(fastbp.MLP.load, path)
    if isinstance(loaded, fastbp.MLP):
        assert all(np.isfinite(w).all() for w in loaded.weights + loaded.biases)
        assert loaded.predict(np.zeros((1, loaded.layers[0]))).shape == (1, loaded.layers[-1])


@FUZZ
@given(X=st.one_of(arrays(max_dims=3), anything), y=st.one_of(arrays(max_dims=2), anything),
       params=st.fixed_dictionaries({}, optional={
           "hidden_layer_sizes": st.one_of(st.integers(-1, 5), st.lists(st.integers(0, 4),
                                                                        max_size=2), anything),
           "solver": st.sampled_from(["sgd", "adam", "rprop", "lbfgs", "x"]),
           "max_fun": st.one_of(st.integers(-1, 3), anything),
           "alpha": st.one_of(st.floats(), anything),
           "batch_size": st.one_of(st.integers(-1, 5), st.just("auto"), anything),
           "max_iter": st.one_of(st.integers(-1, 3), anything),
           "early_stopping": st.one_of(st.booleans(), anything)}),
       sample_weight=st.one_of(st.none(), arrays(max_dims=1), anything))
def test_sklearn_estimators(X, y, params, sample_weight):
    from fastbp.sklearn import MLPClassifier, MLPRegressor
    for cls in (MLPClassifier, MLPRegressor):
        est = cls(**params)
        fitted = call(est.fit, X, y, sample_weight=sample_weight)
        if fitted is est:
            call(est.predict, X)
