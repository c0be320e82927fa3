"""ONNX export of a trained network: the forward pass as MatMul, Add and each activation's ONNX
operator, named by the core's activation table (each descriptor names its operator), with the
weights as initializers in the model's dtype. Needs the ``onnx`` package (``fastbp[onnx]``);
``onnxruntime`` runs the file.

The scikit-learn classifier's graph also turns the output into scikit-learn's ``label`` and
``probabilities``, the regressor's into ``variable`` with the shape its ``predict`` gives.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ._descriptors import ACTIVATIONS as _TABLE, arguments as _attributes

OPSET = 20  # Gelu (with its tanh approximation) entered ONNX in opset 20


def _onnx():
    try:
        import onnx
    except ImportError as exc:
        raise ImportError("ONNX export needs the onnx package: pip install onnx "
                          "(or pip install fastbp[onnx], which also brings onnxruntime)") from exc
    return onnx


class _Graph:
    """Nodes and initializers under construction, with fresh names."""

    def __init__(self, dtype: Any) -> None:
        self.onnx = _onnx()
        self.helper = self.onnx.helper
        self.nodes: list = []
        self.initializers: list = []
        self.dtype = np.dtype(dtype)  # the network's: its weights, input and outputs
        self._count = 0

    def name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def constant(self, stem: str, value) -> str:
        name = self.name(stem)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(self, op: str, inputs: list, stem: str, output: str | None = None, **attrs) -> str:
        output = output or self.name(stem)
        self.nodes.append(self.helper.make_node(op, inputs, [output], **attrs))
        return output

    def activation(self, name: str, z: str) -> str:
        entry = _TABLE[name]
        if not entry["onnx_op"]:
            return z
        attrs = _attributes(entry["onnx_attributes"])
        times_input = attrs.pop("times_input", 0)
        y = self.node(entry["onnx_op"], [z], name, **attrs)
        return self.node("Mul", [z, y], name) if times_input else y


def _forward(graph: _Graph, net, x: str) -> str:
    """The network's output from input `x`: a MatMul, an Add and the activation per layer."""
    h = x
    last = len(net.weights) - 1
    for i, (W, b) in enumerate(zip(net.weights, net.biases)):
        z = graph.node("MatMul", [h, graph.constant(f"W{i}", np.array(W))], f"matmul{i}")
        z = graph.node("Add", [z, graph.constant(f"b{i}", np.array(b))], f"z{i}")
        h = graph.activation(net.output if i == last else net.hidden, z)
    return h


def _model(graph: _Graph, inputs: list, outputs: list, doc: str):
    helper = graph.helper
    g = helper.make_graph(graph.nodes, "fastbp_mlp", inputs, outputs, graph.initializers)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="fastbp", doc_string=doc)
    model.ir_version = min(model.ir_version, 10)  # what current onnxruntime releases read
    graph.onnx.checker.check_model(model, full_check=True)
    return model


def _finish(model, path):
    if path is not None:
        with open(os.fspath(path), "wb") as f:
            f.write(model.SerializeToString())
    return model


def _tensor(graph: _Graph, name: str, columns) -> Any:
    """A graph input or output of the network's dtype: N rows, `columns` columns (or 1-D)."""
    elem = graph.helper.np_dtype_to_tensor_dtype(graph.dtype)
    return graph.helper.make_tensor_value_info(name, elem, ["N", columns] if columns else ["N"])


def network_to_onnx(net, path=None):
    """`MLP.to_onnx`: input ``X`` (N x n_inputs), output ``Y`` (what `predict` returns)."""
    graph = _Graph(net.dtype)
    y = _forward(graph, net, "X")
    graph.node("Identity", [y], "Y", output="Y")
    model = _model(graph, [_tensor(graph, "X", net.layers[0])],
                   [_tensor(graph, "Y", net.layers[-1])], repr(net))
    return _finish(model, path)


def regressor_to_onnx(estimator, net, path=None):
    """`MLPRegressor.to_onnx`: ``variable``, (N,) for one output as `predict` gives it."""
    graph = _Graph(net.dtype)
    y = _forward(graph, net, "X")
    one = estimator.n_outputs_ == 1
    if one:
        graph.node("Reshape", [y, graph.constant("shape", np.array([-1], np.int64))], "variable",
                   output="variable")
    else:
        graph.node("Identity", [y], "variable", output="variable")
    model = _model(graph, [_tensor(graph, "X", net.layers[0])],
                   [_tensor(graph, "variable", None if one else net.layers[-1])],
                   repr(estimator))
    return _finish(model, path)


def classifier_to_onnx(estimator, net, multilabel: bool, path=None):
    """`MLPClassifier.to_onnx`: ``label`` as `predict` gives it and ``probabilities`` as
    `predict_proba` does (a column per class; for one binary output, 1 - p and p)."""
    graph = _Graph(net.dtype)
    p = _forward(graph, net, "X")
    classes = np.asarray(estimator.classes_)
    if multilabel:
        graph.node("Identity", [p], "probabilities", output="probabilities")
        above = graph.node("Greater", [p, graph.constant("half", np.array(0.5, graph.dtype))],
                           "above")
        label_type = classes.dtype
        graph.node("Cast", [above], "label", output="label",
                   to=graph.helper.np_dtype_to_tensor_dtype(label_type))
        label_columns = len(classes)
    else:
        if estimator.n_outputs_ == 1:
            one = graph.constant("one", np.array(1.0, graph.dtype))
            graph.node("Concat", [graph.node("Sub", [one, p], "negative"), p], "probabilities",
                       output="probabilities", axis=1)
        else:
            graph.node("Identity", [p], "probabilities", output="probabilities")
        # ArgMax picks the first of equal maxima, as numpy's argmax in scikit-learn's predict;
        # for one binary output the columns are 1 - p and p, and p = 0.5 gives classes_[0]
        # either way.
        index = graph.node("ArgMax", ["probabilities"], "index", axis=1, keepdims=0)
        if classes.dtype.kind in "US":
            label_values, label_type = classes.astype(object), np.dtype(object)
        else:
            label_values, label_type = classes, classes.dtype
        graph.node("Gather", [graph.constant("classes", label_values), index], "label",
                   output="label", axis=0)
        label_columns = None
    elem = (graph.onnx.TensorProto.STRING if label_type == np.dtype(object)
            else graph.helper.np_dtype_to_tensor_dtype(label_type))
    label = graph.helper.make_tensor_value_info(
        "label", elem, ["N", label_columns] if label_columns else ["N"])
    model = _model(graph, [_tensor(graph, "X", net.layers[0])],
                   [label, _tensor(graph, "probabilities", len(classes))],
                   repr(estimator))
    return _finish(model, path)
