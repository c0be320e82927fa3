"""ONNX export checked by running the files: in onnxruntime against `predict` (float32 to 1e-5),
and in onnx's own reference evaluator for both dtypes (onnxruntime has no float64 kernels for
some activations). Every activation as hidden and as output, the scikit-learn estimators'
labels and probabilities, the file written and read back."""

import numpy as np
import pytest

import fastbp

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx.reference import ReferenceEvaluator  # noqa: E402

HIDDEN = [entry["name"] for entry in fastbp._core.activation_table() if not entry["output_only"]]
OUTPUTS = [entry["name"] for entry in fastbp._core.activation_table()]
# ONNX attributes are float32 (LeakyRelu's alpha, Gelu's constants in runtimes): a float64
# model matches to that precision, not to float64's.
TOLERANCE = {np.float32: 1e-5, np.float64: 1e-7}


def run_onnxruntime(model, inputs):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, inputs)


def ort_has_kernels(model, inputs):
    try:
        run_onnxruntime(model, inputs)
    except Exception as exc:  # onnxruntime's NotImplemented has no importable class
        if "NOT_IMPLEMENTED" in str(exc):
            return False
        raise
    return True


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_every_hidden_activation_matches_predict(hidden, dtype):
    net = fastbp.MLP([5, 17, 7, 3], hidden=hidden, output="softmax", dtype=dtype, seed=3)
    x = (np.random.default_rng(0).standard_normal((9, 5)) * 3).astype(dtype)
    model = net.to_onnx()
    want = net.predict(x)
    got = ReferenceEvaluator(model).run(None, {"X": x})[0]
    assert got.dtype == dtype
    np.testing.assert_allclose(got, want, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])
    if dtype == np.float32 or ort_has_kernels(model, {"X": x}):
        got = run_onnxruntime(model, {"X": x})[0]
        np.testing.assert_allclose(got, want, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])


@pytest.mark.parametrize("output", OUTPUTS)
def test_every_output_activation_matches_predict_in_onnxruntime(output):
    net = fastbp.MLP([4, 1, 6], hidden="tanh", output=output, seed=5)  # a 1-unit layer too
    x = np.random.default_rng(1).standard_normal((1, 4)).astype(np.float32)
    got = run_onnxruntime(net.to_onnx(), {"X": x})[0]
    np.testing.assert_allclose(got, net.predict(x), rtol=1e-5, atol=1e-5)


def test_trained_network_written_to_a_file(tmp_path):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((200, 6)).astype(np.float32)
    y = (X[:, 0] > X[:, 1]).astype(np.int64)
    net = fastbp.MLP([6, 16, 2], output="softmax", seed=0)
    net.fit(X, y, epochs=5, batch_size=16, lr=0.1)
    path = tmp_path / "model.onnx"
    net.to_onnx(path)
    loaded = onnx.load(str(path))
    onnx.checker.check_model(loaded)
    assert [i.name for i in loaded.graph.input] == ["X"]
    assert [o.name for o in loaded.graph.output] == ["Y"]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"X": X})[0], net.predict(X), atol=1e-5)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("labels", ["binary", "multiclass", "strings", "multilabel"])
def test_classifier_labels_and_probabilities(labels):
    pytest.importorskip("sklearn")
    from fastbp.sklearn import MLPClassifier

    rng = np.random.default_rng(4)
    X = rng.standard_normal((120, 5))
    score = X[:, 0] + 0.5 * X[:, 1]
    y = {"binary": (score > 0).astype(int),
         "multiclass": np.digitize(score, [-0.5, 0.5]),
         "strings": np.array(["low", "mid", "high"])[np.digitize(score, [-0.5, 0.5])],
         "multilabel": np.column_stack([score > 0, X[:, 2] > 0]).astype(int)}[labels]
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0).fit(X, y)
    x = X[:40].astype(clf.model_.dtype)
    label, probabilities = run_onnxruntime(clf.to_onnx(), {"X": x})
    np.testing.assert_array_equal(label, clf.predict(x))
    np.testing.assert_allclose(probabilities, clf.predict_proba(x), rtol=1e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("outputs", [1, 3])
def test_regressor_prediction_shape_and_values(outputs):
    pytest.importorskip("sklearn")
    from fastbp.sklearn import MLPRegressor

    rng = np.random.default_rng(6)
    X = rng.standard_normal((80, 4))
    y = X[:, :outputs] * 2.0 + 1.0
    reg = MLPRegressor(hidden_layer_sizes=(7,), max_iter=20, random_state=0)
    reg.fit(X, y.ravel() if outputs == 1 else y)
    x = X.astype(reg.model_.dtype)
    (got,) = run_onnxruntime(reg.to_onnx(), {"X": x})
    want = reg.predict(x)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_unfitted_estimator_refuses():
    pytest.importorskip("sklearn")
    from sklearn.exceptions import NotFittedError

    from fastbp.sklearn import MLPClassifier

    with pytest.raises(NotFittedError):
        MLPClassifier().to_onnx()
