"""Losses with a parameter. The plain ones are named by a string (``loss="mse"``,
``"softmax_ce"``, ``"bce"``, ``"huber"``, ``"poisson"``); a loss object gives its parameter
another value.

>>> import numpy as np, fastbp
>>> net = fastbp.MLP([3, 8, 1], loss=fastbp.losses.Huber(delta=0.5), seed=0)
>>> net.loss_name, net.huber_delta
('huber', 0.5)
"""

from __future__ import annotations

from dataclasses import dataclass

from . import _core
from . import _validation as check


@dataclass(frozen=True)
class Huber:
    """Huber's loss (the smooth L1 loss of PyTorch for ``delta=1``), for regression robust to
    outliers: per output ``0.5 * d**2`` if ``|d| <= delta`` else ``delta * (|d| - delta / 2)``,
    ``d = y - t``, summed over outputs and averaged over the batch like the other losses.
    ``loss="huber"`` is ``Huber(delta=1.0)``.

    >>> import fastbp
    >>> fastbp.losses.Huber(delta=2.0).delta
    2.0
    """

    delta: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "delta", check.number("delta", self.delta))
        _core.validate_loss("huber", self.delta)


def resolve(loss, output: str) -> tuple[str, float]:
    """(name, huber_delta) for the core from ``loss=`` (None: the output's default)."""
    if isinstance(loss, Huber):
        return "huber", loss.delta
    if loss is None:
        loss = {"softmax": "softmax_ce", "sigmoid": "bce", "exp": "poisson"}.get(output, "mse")
    return check.choice("loss", loss, check.LOSSES), 1.0
