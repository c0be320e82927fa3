"""The MLP: a thin Python face over the compiled network (fastbp._core.Network32/64)."""

from __future__ import annotations

import os
import tempfile
import zipfile
import zlib

import numpy as np

from . import _core
from . import _validation as check
from .history import History, format_epoch

_DEFAULT_LOSS = {"softmax": "softmax_ce", "sigmoid": "bce"}
_FORMAT_VERSION = 1


class MLP:
    """A multilayer perceptron trained by backpropagation in fused C++ kernels.

    Parameters
    ----------
    layers : sequence of int
        ``[n_in, h1, ..., n_out]``; at least two sizes, each >= 1.
    hidden : str
        Activation of the hidden layers: identity, relu, leaky_relu (slope 0.01), sigmoid, tanh.
    output : str
        Activation of the output layer: any of the above, or softmax.
    loss : str, optional
        mse, softmax_ce or bce; defaults from the output (softmax -> softmax_ce,
        sigmoid -> bce, otherwise mse).
    dtype : {"float32", "float64"}
    seed : int, optional
        Seeds the Glorot/He initialisation; the same seed gives the same weights.

    Examples
    --------
    >>> import numpy as np, fastbp
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    >>> y = np.array([[0], [1], [1], [0]], dtype=np.float32)
    >>> net = fastbp.MLP([2, 8, 1], hidden="tanh", output="sigmoid", seed=0)
    >>> history = net.fit(X, y, epochs=2000, batch_size=4, lr=0.5)
    >>> bool(history.loss[-1] < 0.05)
    True
    """

    def __init__(self, layers, hidden="relu", output="identity", loss=None, dtype="float32",
                 seed=None):
        if isinstance(layers, (str, bytes)) or not hasattr(layers, "__len__"):
            raise TypeError(f"layers: expected a sequence of ints [n_in, ..., n_out], "
                            f"got {type(layers).__name__}")
        sizes = [check.integer(f"layers[{i}]", v, minimum=1) for i, v in enumerate(layers)]
        if len(sizes) < 2:
            raise ValueError(f"layers: expected at least 2 sizes [n_in, ..., n_out], "
                             f"got {len(sizes)}")
        check.choice("hidden", hidden, check.ACTIVATIONS)
        check.choice("output", output, check.OUTPUTS)
        loss = _DEFAULT_LOSS.get(output, "mse") if loss is None else loss
        check.choice("loss", loss, check.LOSSES)
        self._dtype = np.dtype(check.dtype_name(dtype))
        core_class = _core.Network32 if self._dtype == np.float32 else _core.Network64
        self._net = core_class(sizes, hidden, output, loss, check.seed("seed", seed))
        self._bind_views()

    def _bind_views(self):
        self._weights, self._biases = self._split(self._net.parameters())

    # -- architecture ---------------------------------------------------------------------
    @property
    def layers(self) -> list:
        return list(self._net.layers)

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def hidden(self) -> str:
        return self._net.hidden

    @property
    def output(self) -> str:
        return self._net.output

    @property
    def loss_name(self) -> str:
        return self._net.loss_name

    @property
    def weights(self) -> list:
        """``W[l]`` of shape ``(layers[l], layers[l+1])``: live views, writing them changes the model."""
        return list(self._weights)

    @property
    def biases(self) -> list:
        """``b[l]`` of shape ``(layers[l+1],)``: live views."""
        return list(self._biases)

    def __repr__(self) -> str:
        return (f"MLP(layers={self.layers}, hidden={self.hidden!r}, output={self.output!r}, "
                f"loss={self.loss_name!r}, dtype={self.dtype.name!r})")

    # -- inputs ---------------------------------------------------------------------------
    def _X(self, X, name="X"):
        return check.matrix(name, X, self._dtype, n_cols=self.layers[0])

    def _T(self, T, n, name="T"):
        return check.targets(name, T, n, self.layers[-1], self.loss_name, self._dtype)

    # -- computation ----------------------------------------------------------------------
    def predict(self, X) -> np.ndarray:
        """Network outputs for X of shape ``(n, n_in)``, as ``(n, n_out)``."""
        return self._net.predict(self._X(X))

    def loss(self, X, T) -> float:
        """Mean loss over the samples of X with targets T."""
        X = self._X(X)
        return float(self._net.loss(X, *self._T(T, X.shape[0])))

    def gradients(self, X, T):
        """``(dW_list, db_list)``: the gradient of the mean loss; the model is not changed."""
        X = self._X(X)
        flat, _ = self._net.gradients(X, *self._T(T, X.shape[0]))
        return self._split(flat)

    def _split(self, flat):
        """Per-layer (W, b) views into a flat array laid out like the parameters."""
        weights, biases = [], []
        for layer, (n_in, n_out) in enumerate(zip(self.layers[:-1], self.layers[1:])):
            w, b = self._net.weight_offset(layer), self._net.bias_offset(layer)
            weights.append(flat[w:w + n_in * n_out].reshape(n_in, n_out))
            biases.append(flat[b:b + n_out])
        return weights, biases

    def train_step(self, X, T, lr=0.01, momentum=0.0) -> float:
        """One fused SGD step on the batch (X, T); returns the batch loss before the update."""
        X = self._X(X)
        lr = check.real("lr", lr, low=0, low_open=True)
        momentum = check.real("momentum", momentum, low=0, high=1, high_open=True)
        return float(self._net.train_step(X, *self._T(T, X.shape[0]), lr, momentum))

    def fit(self, X, T, epochs=10, batch_size=32, lr=0.01, momentum=0.0, shuffle=True,
            seed=None, validation_data=None, verbose=False, callbacks=None) -> History:
        """Mini-batch SGD; the whole loop runs in C++ with the GIL released.

        A partial last batch is trained, not dropped. ``validation_data=(X_val, T_val)`` adds
        per-epoch validation loss (and accuracy for softmax/sigmoid outputs). Each callback is
        called after every epoch with that epoch's figures (a dict); returning False stops.
        """
        X = self._X(X)
        values, labels = self._T(T, X.shape[0])
        epochs = check.integer("epochs", epochs, minimum=0)
        batch_size = check.integer("batch_size", batch_size, minimum=1)
        lr = check.real("lr", lr, low=0, low_open=True)
        momentum = check.real("momentum", momentum, low=0, high=1, high_open=True)
        if not isinstance(shuffle, (bool, np.bool_)):
            raise TypeError(f"shuffle: expected a bool, got {type(shuffle).__name__}")
        seed = check.seed("seed", seed)
        X_val = val_values = val_labels = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise TypeError("validation_data: expected a tuple (X_val, T_val)")
            X_val = self._X(validation_data[0], "validation_data[0]")
            val_values, val_labels = self._T(validation_data[1], X_val.shape[0],
                                             "validation_data[1]")
        callbacks = list(callbacks or [])
        for c in callbacks:
            if not callable(c):
                raise TypeError(f"callbacks: expected callables, got {type(c).__name__}")

        history = History(n_samples=X.shape[0])

        def on_epoch(log):
            history.append(log)
            if verbose:
                print(format_epoch(log, epochs, X.shape[0]), flush=True)
            keep_going = True
            for c in callbacks:
                if c(dict(log)) is False:
                    keep_going = False
            return keep_going

        self._net.fit(X, values, labels, epochs, batch_size, lr, momentum, bool(shuffle), seed,
                      X_val, val_values, val_labels, on_epoch)
        return history

    # -- files ----------------------------------------------------------------------------
    def save(self, path) -> None:
        """Writes weights and architecture to a ``.npz`` file (atomically: temp file + rename)."""
        path = os.fspath(path)
        arrays = {
            "format_version": np.array(_FORMAT_VERSION),
            "layers": np.array(self.layers, dtype=np.int64),
            "hidden": np.array(self.hidden),
            "output": np.array(self.output),
            "loss": np.array(self.loss_name),
            "dtype": np.array(self.dtype.name),
        }
        for i, (w, b) in enumerate(zip(self._weights, self._biases)):
            arrays[f"W{i}"] = w
            arrays[f"b{i}"] = b
        directory = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix=".fastbp-", suffix=".npz.tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **arrays)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    @classmethod
    def load(cls, path) -> "MLP":
        """Reads a model written by `save`; never unpickles, checks every array."""
        try:
            # Our own handle: np.load leaks its file when the zip is unreadable.
            with open(os.fspath(path), "rb") as f, np.load(f, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
            raise ValueError(f"{path}: not a readable fastbp model file ({exc})") from exc

        def field(name):
            if name not in arrays:
                raise ValueError(f"{path}: not a fastbp model file (no '{name}')")
            return arrays[name]

        if int(field("format_version")) != _FORMAT_VERSION:
            raise ValueError(f"{path}: unsupported format version {int(field('format_version'))}")
        layers = field("layers")
        if layers.dtype.kind not in "iu" or layers.ndim != 1:
            raise ValueError(f"{path}: 'layers' must be a 1-D integer array")
        net = cls(layers.tolist(), hidden=str(field("hidden")), output=str(field("output")),
                  loss=str(field("loss")), dtype=str(field("dtype")), seed=0)
        for i, (w, b) in enumerate(zip(net._weights, net._biases)):
            for name, target in ((f"W{i}", w), (f"b{i}", b)):
                value = field(name)
                if value.shape != target.shape or value.dtype != target.dtype:
                    raise ValueError(f"{path}: '{name}' should be {target.dtype} of shape "
                                     f"{target.shape}, found {value.dtype} {value.shape}")
                if not np.isfinite(value).all():
                    raise ValueError(f"{path}: '{name}' contains NaN or infinity")
                target[...] = value
        return net
