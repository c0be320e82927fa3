"""A model frozen for serving: `Predictor`."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from . import _core
from .mlp import MLP, samples


class Predictor:
    """``predict`` of a snapshot of a model, with every weight matrix packed once.

    `MLP.predict` copies a layer's weight matrix into the matrix kernels' panels on each call of
    more than a dozen rows (when it has 4096 entries or more), since the model's weights may
    change between calls (training, or writes through ``weights``). A Predictor takes a copy of
    the parameters and packs them once, as ONNX Runtime and oneDNN do with constant weights, and
    a serving loop skips that copy. Later changes to the model do not reach it, nor does it keep
    the model alive: build a new one after training more. Its outputs equal the model's
    ``predict`` at the time it was built, to the bit. Safe to call from several threads at once.
    It pickles (and deep-copies) as its snapshot: a copy packs the weights again when it is
    loaded, for the CPU it is loaded on, and predicts as the original does on that CPU.

    Examples
    --------
    >>> import numpy as np, fastbp
    >>> net = fastbp.MLP([3, 4, 2], output="softmax", seed=0)
    >>> serve = fastbp.Predictor(net)
    >>> X = np.ones((5, 3), dtype=np.float32)
    >>> bool((serve.predict(X) == net.predict(X)).all())
    True
    >>> out = np.empty((5, 2), dtype=np.float32)
    >>> serve.predict(X, out=out) is out
    True
    """

    def __init__(self, model: MLP):
        if not isinstance(model, MLP):
            raise TypeError(f"model: expected a fastbp.MLP, got {type(model).__name__}")
        self._snapshot(model)

    def _snapshot(self, model: MLP) -> None:
        core_class = _core.Predictor32 if model.dtype == np.float32 else _core.Predictor64
        self._core = core_class(model._net)
        self._architecture = model._architecture()
        self.layers: list[int] = list(model.layers)
        self.dtype: np.dtype = model.dtype

    def __getstate__(self) -> dict:
        """The snapshot: the model's architecture and the parameters it had when this was built."""
        return {"model": {**self._architecture, "parameters": self._core.parameters()}}

    def __setstate__(self, state: dict) -> None:
        if not isinstance(state, dict) or not isinstance(state.get("model"), dict):
            given = (f"keys {sorted(state)}" if isinstance(state, dict)
                     else type(state).__name__)
            raise ValueError(f"Predictor state: expected a dict with a 'model' dict, got {given}")
        model = MLP.__new__(MLP)
        model.__setstate__(state["model"])
        self._snapshot(model)

    def __repr__(self) -> str:
        return f"Predictor(layers={self.layers}, dtype={self.dtype.name!r})"

    def predict(self, X: npt.ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
        """Outputs for X of shape ``(n, n_in)``, as `MLP.predict` gives them (``out``: a
        C-contiguous ``(n, n_out)`` array of the model's dtype to write them into).

        Examples
        --------
        >>> import numpy as np, fastbp
        >>> serve = fastbp.Predictor(fastbp.MLP([2, 3, 1], output="sigmoid", seed=0))
        >>> serve.predict(np.zeros((4, 2))).shape
        (4, 1)
        """
        ready = self._core.ready_predict(X, out)
        if ready is not None:
            return ready
        return self._core.predict(samples(X, self.dtype, self.layers[0]), out)
