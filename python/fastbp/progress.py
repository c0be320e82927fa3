"""Progress display for `MLP.fit(verbose=True)`: a tqdm bar over epochs when tqdm is installed,
otherwise one printed line per epoch."""

from __future__ import annotations

import math
import sys

from .history import format_epoch


class EpochProgress:
    def __init__(self, total_epochs: int, n_samples: int, bar: bool = True):
        self.total_epochs = total_epochs
        self.n_samples = n_samples
        self._bar = None
        if bar:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(total=total_epochs, unit="epoch", file=sys.stderr,
                                 dynamic_ncols=True)

    def update(self, log: dict) -> None:
        if self._bar is None:
            print(format_epoch(log, self.total_epochs, self.n_samples), flush=True)
            return
        seconds = float(log["seconds"])
        figures = {"loss": f"{log['loss']:.4g}"}
        if not math.isnan(log["val_loss"]):
            figures["val_loss"] = f"{log['val_loss']:.4g}"
        if not math.isnan(log["val_accuracy"]):
            figures["val_acc"] = f"{log['val_accuracy']:.4f}"
        figures["samples/s"] = f"{self.n_samples / seconds:,.0f}" if seconds > 0 else "inf"
        self._bar.set_postfix(figures, refresh=False)
        self._bar.update(1)

    def finished(self, epochs_run: int) -> None:
        """Training ended normally: when early stopping ended it before the last epoch, the bar
        ends full at the epochs that ran and says so, instead of stopping at, say, 85%."""
        if epochs_run >= self.total_epochs:
            return
        if self._bar is None:
            print(f"stopped early after {epochs_run} of {self.total_epochs} epochs", flush=True)
            return
        self._bar.total = epochs_run
        self._bar.set_description(f"stopped early ({epochs_run} of {self.total_epochs} epochs)")
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
