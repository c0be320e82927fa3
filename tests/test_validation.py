"""Bad input becomes a ValueError/TypeError naming the argument; the model is left untouched."""

import numpy as np
import pytest

import fastbp

X4 = np.zeros((4, 3))
LABELS = np.array([0, 1, 2, 1])


@pytest.fixture
def net():
    return fastbp.MLP([3, 5, 3], hidden="relu", output="softmax", seed=0)


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(layers=[3]), ValueError, "at least 2"),
    (dict(layers=[3, 0, 2]), ValueError, r"layers\[1\]"),
    (dict(layers=[3, -1]), ValueError, r"layers\[1\]"),
    (dict(layers=[3, 2.5]), TypeError, r"layers\[1\]"),
    (dict(layers="32"), TypeError, "layers"),
    (dict(layers=7), TypeError, "layers"),
    (dict(layers=[3, 2], hidden="softmax"), ValueError, "hidden"),
    (dict(layers=[3, 2], hidden="swish"), ValueError, "hidden"),
    (dict(layers=[3, 2], output=3), TypeError, "output"),
    (dict(layers=[3, 2], loss="hinge"), ValueError, "loss"),
    (dict(layers=[3, 2], output="identity", loss="softmax_ce"), ValueError, "softmax"),
    (dict(layers=[3, 1], output="softmax"), ValueError, "at least 2 output units"),
    (dict(layers=[3, 2], output="identity", loss="bce"), ValueError, "sigmoid"),
    (dict(layers=[3, 2], output="softmax", loss="mse"), ValueError, "softmax_ce"),
    (dict(layers=[3, 2], dtype="float16"), ValueError, "dtype"),
    (dict(layers=[3, 2], dtype="int32"), ValueError, "dtype"),
    (dict(layers=[3, 2], dtype="banana"), TypeError, "dtype"),
    (dict(layers=[3, 2], seed=-1), ValueError, "seed"),
    (dict(layers=[3, 2], seed=1.5), TypeError, "seed"),
])
def test_bad_constructor_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        fastbp.MLP(**kwargs)


@pytest.mark.parametrize("X,error,match", [
    (np.zeros((4, 2)), ValueError, "3 columns"),
    (np.zeros(3), ValueError, "2-D"),
    (np.zeros((0, 3)), ValueError, "non-empty"),
    (np.zeros((2, 3, 1)), ValueError, "2-D"),
    (np.array([[np.nan, 0, 0]]), ValueError, "NaN"),
    (np.array([[np.inf, 0, 0]]), ValueError, "NaN or infinity"),
    (np.array([[1e300, 0, 0]]), ValueError, "NaN or infinity"),  # overflows float32
    (np.zeros((2, 3), dtype=complex), TypeError, "real numbers"),
    (np.array([["a", "b", "c"]]), TypeError, "real numbers"),
    (np.array([[object(), 1, 2]], dtype=object), TypeError, "real numbers"),
    ("abc", TypeError, "array"),
    (None, TypeError, "None"),
])
def test_bad_X_for_predict(net, X, error, match):
    with pytest.raises(error, match=match):
        net.predict(X)


@pytest.mark.parametrize("T,error,match", [
    (np.array([0, 1, 3, 1]), ValueError, r"\[0, 3\)"),
    (np.array([0, 1, -1, 1]), ValueError, r"\[0, 3\)"),
    (np.array([0, 1, 2]), ValueError, "4 labels"),
    (np.array([0.0, 1.0, 2.0, 1.0]), TypeError, "integers"),
    (np.zeros((4, 2)), ValueError, "shape"),
    (np.zeros((3, 3)), ValueError, "shape"),
    (np.full((4, 3), np.nan), ValueError, "NaN"),
])
def test_bad_targets(net, T, error, match):
    for call in (lambda: net.loss(X4, T), lambda: net.train_step(X4, T),
                 lambda: net.gradients(X4, T), lambda: net.fit(X4, T, epochs=1)):
        with pytest.raises(error, match=match):
            call()


def test_bce_targets_outside_unit_interval():
    net = fastbp.MLP([3, 2, 1], output="sigmoid", seed=0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        net.train_step(X4, np.array([0, 1, 2, 0]))


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(epochs=-1), ValueError, "epochs"),
    (dict(epochs=1.5), TypeError, "epochs"),
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(lr=0), ValueError, "lr"),
    (dict(lr=-0.1), ValueError, "lr"),
    (dict(lr=float("nan")), ValueError, "lr"),
    (dict(lr="fast"), TypeError, "lr"),
    (dict(momentum=1.0), ValueError, "momentum"),
    (dict(momentum=-0.5), ValueError, "momentum"),
    (dict(shuffle="yes"), TypeError, "shuffle"),
    (dict(validation_data=X4), TypeError, "validation_data"),
    (dict(validation_data=(np.zeros((2, 4)), np.array([0, 1]))), ValueError, "validation_data"),
    (dict(callbacks=[1]), TypeError, "callbacks"),
])
def test_bad_fit_arguments_leave_the_model_unchanged(net, kwargs, error, match):
    before = [w.copy() for w in net.weights + net.biases]
    with pytest.raises(error, match=match):
        net.fit(X4, LABELS, **kwargs)
    for a, b in zip(before, net.weights + net.biases):
        np.testing.assert_array_equal(a, b)


def test_functional_shape_mismatches():
    x, W, b = np.zeros((2, 3)), np.zeros((3, 4)), np.zeros(4)
    with pytest.raises(ValueError, match="x"):
        fastbp.dense_forward(np.zeros((2, 5)), W, b, "relu")
    with pytest.raises(ValueError, match="b"):
        fastbp.dense_forward(x, W, np.zeros(5), "relu")
    with pytest.raises(ValueError, match="activation"):
        fastbp.dense_forward(x, W, b, "mish")  # not an activation fastbp has
    a = np.zeros((2, 4))
    with pytest.raises(ValueError, match="grad_a"):
        fastbp.dense_backward(np.zeros((2, 5)), x, W, a, "relu")
    with pytest.raises(ValueError, match="a"):
        fastbp.dense_backward(a, x, W, np.zeros((3, 4)), "relu")
    with pytest.raises(TypeError, match="W"):
        fastbp.dense_backward_sgd(a, x, [[0.0] * 4] * 3, b, a, "relu", 0.1)
    with pytest.raises(ValueError, match="W"):
        fastbp.dense_backward_sgd(a, x, np.zeros((4, 3)).T, b, a, "relu", 0.1)
    with pytest.raises(TypeError, match="b"):
        fastbp.dense_backward_sgd(a, x, W, b.astype(np.float32), a, "relu", 0.1)
    with pytest.raises(ValueError, match="lr"):
        fastbp.dense_backward_sgd(a, x, W, b, a, "relu", -1.0)


def test_core_module_rejects_bad_shapes_without_crashing():
    from fastbp import _core

    core = _core.Network64([3, 2], "relu", "identity", "mse", 0)
    with pytest.raises(ValueError, match="3 columns"):
        core.predict(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="exactly one"):
        core.loss(np.zeros((2, 3)), None, None)
    with pytest.raises(ValueError, match="expected shape"):
        core.train_step(np.zeros((2, 3)), np.zeros((3, 2)), None, {"lr": 0.1})
    with pytest.raises(ValueError, match="labels"):
        core.train_step(np.zeros((2, 3)), None, np.zeros(2, np.int64), {"lr": 0.1})
    with pytest.raises(ValueError, match="unknown setting 'lrate'"):
        core.train_step(np.zeros((2, 3)), np.zeros((2, 2)), None, {"lrate": 0.1})
    with pytest.raises(ValueError, match="beta2"):
        core.train_step(np.zeros((2, 3)), np.zeros((2, 2)), None, {"kind": "adam", "beta2": 1.0})
    with pytest.raises(ValueError, match="layers"):
        _core.Network32([3, 0], "relu", "identity", "mse", 0)
    with pytest.raises(ValueError, match="too many parameters"):
        _core.Network32([2**40, 2**40], "relu", "identity", "mse", 0)


def test_threads_setting():
    before = fastbp.get_num_threads()
    with pytest.raises(ValueError, match=r"^n: expected an integer in \[1, 1024\], got 0"):
        fastbp.set_num_threads(0)
    with pytest.raises(ValueError, match=r"\[1, 1024\]"):
        fastbp.set_num_threads(10**6)
    with pytest.raises(TypeError, match=r"^n: expected an integer, got float"):
        fastbp.set_num_threads(2.5)
    fastbp.set_num_threads(1)
    assert fastbp.get_num_threads() == 1
    fastbp.set_num_threads(before)
    assert fastbp.simd_level() in ("portable", "avx2", "avx512")


def test_integer_and_list_inputs_are_converted_once():
    net = fastbp.MLP([2, 3, 1], seed=0, dtype="float64")
    a = net.predict([[1, 2], [3, 4]])
    b = net.predict(np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float64


def test_fastbp_simd_is_read_case_insensitively_and_an_unknown_value_warns():
    import os
    import subprocess
    import sys

    def level_with(value):
        done = subprocess.run([sys.executable, "-W", "always", "-c",
                               "import fastbp; print(fastbp.simd_level())"],
                              env=dict(os.environ, FASTBP_SIMD=value), capture_output=True,
                              text=True, timeout=120)
        return done.stdout.strip(), done.stderr

    level, err = level_with("PORTABLE")
    assert level == "portable" and "Warning" not in err
    level, err = level_with("sse")
    assert level == fastbp.simd_level()
    assert "FASTBP_SIMD='sse' names no kernel level" in err
