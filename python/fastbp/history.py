"""Per-epoch figures of a training run."""

from __future__ import annotations

import math


class History:
    """What `MLP.fit` measured, one entry per epoch.

    Attributes ``epochs``, ``loss`` (mean training loss of the epoch), ``val_loss`` and
    ``val_accuracy`` (NaN when not measured), ``learning_rate``, ``seconds`` and
    ``samples_per_second``; also reachable as ``history["loss"]``. ``best_epoch`` is the epoch
    with the best monitored loss (validation loss when there was validation data).

    Examples
    --------
    >>> import numpy as np, fastbp
    >>> X = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32)
    >>> net = fastbp.MLP([3, 8, 1], seed=0)
    >>> history = net.fit(X, X[:, :1], epochs=5, lr=0.05, seed=0)
    >>> len(history), history.loss[-1] < history.loss[0]
    (5, True)
    """

    _FIELDS = ("epochs", "loss", "val_loss", "val_accuracy", "learning_rate", "seconds",
               "samples_per_second")

    def __init__(self, n_samples: int = 0):
        self.n_samples = n_samples
        self.epochs: list[int] = []
        self.loss: list[float] = []
        self.val_loss: list[float] = []
        self.val_accuracy: list[float] = []
        self.learning_rate: list[float] = []
        self.seconds: list[float] = []
        self.samples_per_second: list[float] = []
        self.best_epoch: int | None = None

    def _append(self, log: dict) -> None:
        self.epochs.append(int(log["epoch"]))
        self.loss.append(float(log["loss"]))
        self.val_loss.append(float(log["val_loss"]))
        self.val_accuracy.append(float(log["val_accuracy"]))
        self.learning_rate.append(float(log.get("learning_rate", math.nan)))
        seconds = float(log["seconds"])
        self.seconds.append(seconds)
        self.samples_per_second.append(self.n_samples / seconds if seconds > 0 else math.inf)
        if log.get("best"):
            self.best_epoch = int(log["epoch"])

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

    def plot(self, ax=None, log_scale: bool = True):
        """Draws the training (and validation) loss per epoch with matplotlib; returns the axes.

        Needs matplotlib (``pip install matplotlib``); raises ImportError saying so otherwise.
        Accuracy, when measured, goes on a second y axis.

        >>> history = net.fit(X, y, epochs=50, validation_split=0.2)   # doctest: +SKIP
        >>> history.plot().figure.savefig("loss.png")                  # doctest: +SKIP
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError as exc:
            raise ImportError("History.plot needs matplotlib: pip install matplotlib") from exc
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        ax.plot(self.epochs, self.loss, label="training loss")
        if any(not math.isnan(v) for v in self.val_loss):
            ax.plot(self.epochs, self.val_loss, label="validation loss")
        if self.best_epoch is not None:
            ax.axvline(self.best_epoch, color="grey", linestyle=":", label="best epoch")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        if log_scale and all(v > 0 for v in self.loss):
            ax.set_yscale("log")
        handles, labels = ax.get_legend_handles_labels()
        if any(not math.isnan(v) for v in self.val_accuracy):
            acc_ax = ax.twinx()
            acc_ax.plot(self.epochs, self.val_accuracy, color="tab:green",
                        label="validation accuracy")
            acc_ax.set_ylabel("accuracy")
            more_handles, more_labels = acc_ax.get_legend_handles_labels()
            handles, labels = handles + more_handles, labels + more_labels
        ax.legend(handles, labels, loc="best")
        return ax


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
