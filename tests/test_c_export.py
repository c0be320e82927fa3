"""C export checked by compiling it: the file from `MLP.to_c` is built with the system C compiler
as C99 with warnings as errors and run through ctypes against `predict` (float32, 1e-5), for
every activation as hidden and as output."""

import ctypes
import shutil
import subprocess

import numpy as np
import pytest

import fastbp

COMPILER = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
pytestmark = pytest.mark.skipif(COMPILER is None, reason="no C compiler on PATH")

TABLE = fastbp._core.activation_table()
HIDDEN = [e["name"] for e in TABLE if not e["output_only"]]
OUTPUTS = [e["name"] for e in TABLE]


def compiled_predict(net, tmp_path, name="net"):
    source = tmp_path / f"{name}.c"
    library = tmp_path / f"lib{name}.so"
    net.to_c(source, name=name)
    subprocess.run([COMPILER, "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-O2",
                    "-shared", "-fPIC", str(source), "-o", str(library), "-lm"], check=True)
    function = getattr(ctypes.CDLL(str(library)), f"{name}_predict")
    function.restype = None

    def predict(x):
        x = np.ascontiguousarray(x, np.float32)
        y = np.empty((len(x), net.layers[-1]), np.float32)
        function(x.ctypes.data_as(ctypes.c_void_p), ctypes.c_size_t(len(x)),
                 y.ctypes.data_as(ctypes.c_void_p))
        return y
    return predict


@pytest.mark.parametrize("hidden", HIDDEN)
def test_every_hidden_activation(hidden, tmp_path):
    net = fastbp.MLP([5, 17, 7, 3], hidden=hidden, output="softmax", seed=2)
    x = (np.random.default_rng(0).standard_normal((11, 5)) * 3).astype(np.float32)
    np.testing.assert_allclose(compiled_predict(net, tmp_path)(x), net.predict(x),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("output", OUTPUTS)
def test_every_output_activation_and_a_single_layer(output, tmp_path):
    net = fastbp.MLP([4, 6], output=output, seed=3)
    x = np.random.default_rng(1).standard_normal((7, 4)).astype(np.float32)
    np.testing.assert_allclose(compiled_predict(net, tmp_path)(x), net.predict(x),
                               rtol=1e-5, atol=1e-5)


def test_trained_float64_network_exported_in_float32(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((300, 8))
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    net = fastbp.MLP([8, 32, 16, 2], output="softmax", dtype=np.float64, seed=0)
    net.fit(X, y, epochs=20, batch_size=32, lr=0.1)
    got = compiled_predict(net, tmp_path)(X)
    np.testing.assert_allclose(got, net.predict(X), rtol=1e-4, atol=1e-5)
    assert (got.argmax(1) == net.predict(X).argmax(1)).mean() > 0.99


def test_bad_name_and_non_finite_weights():
    net = fastbp.MLP([2, 3, 1], seed=0)
    with pytest.raises(ValueError, match="C identifier"):
        net.to_c(name="2bad-name")
    net.weights[0][0, 0] = np.inf
    with pytest.raises(ValueError, match="non-finite"):
        net.to_c()
