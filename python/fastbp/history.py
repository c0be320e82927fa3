"""Per-epoch figures of a training run."""

from __future__ import annotations

import math


class History:
    """What `MLP.fit` measured, one entry per epoch.

    Attributes ``epochs``, ``loss`` (mean training loss of the epoch), ``val_loss`` and
    ``val_accuracy`` (NaN when not measured), ``seconds`` and ``samples_per_second``; also
    reachable as ``history["loss"]``.

    >>> history = net.fit(X, y, epochs=5)            # doctest: +SKIP
    >>> history.loss[-1] < history.loss[0]           # doctest: +SKIP
    True
    """

    _FIELDS = ("epochs", "loss", "val_loss", "val_accuracy", "seconds", "samples_per_second")

    def __init__(self, n_samples: int = 0):
        self.n_samples = n_samples
        self.epochs: list[int] = []
        self.loss: list[float] = []
        self.val_loss: list[float] = []
        self.val_accuracy: list[float] = []
        self.seconds: list[float] = []
        self.samples_per_second: list[float] = []

    def append(self, log: dict) -> None:
        self.epochs.append(int(log["epoch"]))
        self.loss.append(float(log["loss"]))
        self.val_loss.append(float(log["val_loss"]))
        self.val_accuracy.append(float(log["val_accuracy"]))
        seconds = float(log["seconds"])
        self.seconds.append(seconds)
        self.samples_per_second.append(self.n_samples / seconds if seconds > 0 else math.inf)

    def __getitem__(self, key: str) -> list:
        if key not in self._FIELDS:
            raise KeyError(f"{key!r}; History has {', '.join(self._FIELDS)}")
        return getattr(self, key)

    def __len__(self) -> int:
        return len(self.epochs)

    def __repr__(self) -> str:
        if not self.epochs:
            return "History(no epochs)"
        last = f"loss={self.loss[-1]:.4g}"
        if not math.isnan(self.val_loss[-1]):
            last += f", val_loss={self.val_loss[-1]:.4g}"
        if not math.isnan(self.val_accuracy[-1]):
            last += f", val_accuracy={self.val_accuracy[-1]:.4f}"
        return f"History({len(self)} epochs, last: {last})"


def format_epoch(log: dict, total_epochs: int, n_samples: int) -> str:
    """One line of verbose output."""
    seconds = float(log["seconds"])
    rate = n_samples / seconds if seconds > 0 else math.inf
    text = f"epoch {log['epoch']}/{total_epochs}  loss {log['loss']:.5f}"
    if not math.isnan(log["val_loss"]):
        text += f"  val_loss {log['val_loss']:.5f}"
    if not math.isnan(log["val_accuracy"]):
        text += f"  val_accuracy {log['val_accuracy']:.4f}"
    return text + f"  {rate:,.0f} samples/s"
