"""Optimizers for `MLP.fit` and `MLP.train_step`. Each is a small immutable settings object whose
ranges are checked once, by the compiled core, when it is made; the update itself runs in the
compiled training loop, inside the weight-gradient GEMM: in its epilogue for plain SGD and
classical momentum, on each finished gradient tile for the others (the rule of each optimizer is
one descriptor in ``cpp/src/descriptors/optimizers.inc``).

Weight decay applies to weights, not biases. The optimizer's state (velocity, Adam's moments,
RProp's step sizes, Lion's momentum) lives in the model and carries over between calls until the
optimizer kind changes or `MLP.reset_optimizer` is called.

>>> import fastbp
>>> fastbp.Lion(lr=3e-4, weight_decay=0.1)
Lion(lr=0.0003, beta1=0.9, beta2=0.99, weight_decay=0.1)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from . import _core
from ._settings import Settings


class _OptimizerSettings(Settings):
    _core_type = _core.Optimizer


@dataclass(frozen=True)
class SGD(_OptimizerSettings):
    """Stochastic gradient descent, with optional (Nesterov) momentum and L2 weight decay.

    ``V = momentum * V - lr * (g + weight_decay * W)``; ``W += V`` (or, with ``nesterov=True``,
    ``W += momentum * V - lr * (g + weight_decay * W)``). scikit-learn's form; for a constant
    learning rate it equals PyTorch's ``torch.optim.SGD``.

    Examples
    --------
    >>> import fastbp
    >>> fastbp.SGD(lr=0.1, momentum=0.9, nesterov=True)
    SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.0)
    """

    lr: float = 0.01
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0

    _kind = "sgd"


@dataclass(frozen=True)
class Adam(_OptimizerSettings):
    """Adam (Kingma & Ba 2015) with L2 weight decay added to the gradient, as ``torch.optim.Adam``.

    ``epsilon`` is added to the bias-corrected ``sqrt(v_hat)`` as PyTorch does; with
    ``epsilon_uncorrected=True`` to ``sqrt(v)`` before the correction, as scikit-learn does.

    Examples
    --------
    >>> import fastbp
    >>> fastbp.Adam(lr=1e-3).beta2
    0.999
    """

    lr: float = 0.001
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    weight_decay: float = 0.0
    epsilon_uncorrected: bool = False

    _kind = "adam"


@dataclass(frozen=True)
class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019), as ``torch.optim.AdamW``:
    ``W -= lr * weight_decay * W`` before the Adam step.

    Examples
    --------
    >>> import fastbp
    >>> fastbp.AdamW().weight_decay
    0.01
    """

    weight_decay: float = 0.01

    _kind = "adamw"


@dataclass(frozen=True)
class RProp(_OptimizerSettings):
    """iRPROP- (Igel & Huesken 2000), the default training algorithm of the FANN library.

    Each parameter has its own step size: it grows by ``eta_plus`` while the gradient keeps its
    sign, shrinks by ``eta_minus`` when the sign flips (the parameter then rests for one step),
    and stays within ``[step_min, step_max]``; ``W -= sign(g) * step``. Only the gradient's sign
    is used, so it wants full-batch training: `MLP.fit` then defaults to one batch per epoch.

    Examples
    --------
    >>> import fastbp
    >>> fastbp.RProp(step_init=0.05).eta_plus
    1.2
    """

    step_init: float = 0.1
    eta_minus: float = 0.5
    eta_plus: float = 1.2
    step_min: float = 1e-6
    step_max: float = 50.0
    weight_decay: float = 0.0

    _kind = "rprop"


@dataclass(frozen=True)
class Lion(_OptimizerSettings):
    """Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"): the sign of an
    interpolation of momentum and gradient, one state array instead of Adam's two.

    ``c = beta1 * m + (1 - beta1) * g``; ``W -= lr * (sign(c) + weight_decay * W)``;
    ``m = beta2 * m + (1 - beta2) * g``. Its steps all have size ``lr``, so it wants a rate 3 to
    10 times below Adam's (and a decay as many times above AdamW's).

    Examples
    --------
    >>> import fastbp
    >>> fastbp.Lion().lr
    0.0001
    """

    lr: float = 1e-4
    beta1: float = 0.9
    beta2: float = 0.99
    weight_decay: float = 0.0

    _kind = "lion"


OPTIMIZERS = {cls._kind: cls for cls in (SGD, Adam, AdamW, RProp, Lion)}
Optimizer = Union[SGD, Adam, AdamW, RProp, Lion]


def resolve(optimizer: Any, lr: Any, momentum: Any) -> Optimizer:
    """The optimizer `fit`/`train_step` should use, from ``optimizer=`` or the ``lr=``/
    ``momentum=`` shorthand for SGD."""
    if optimizer is None:
        return SGD(lr=0.01 if lr is None else lr, momentum=0.0 if momentum is None else momentum)
    if lr is not None or momentum is not None:
        raise ValueError("lr/momentum: give them to the optimizer object, not beside it "
                         "(e.g. optimizer=fastbp.SGD(lr=0.1, momentum=0.9))")
    if isinstance(optimizer, str):
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer: expected one of {', '.join(OPTIMIZERS)} or an "
                             f"optimizer object; got {optimizer!r}")
        return OPTIMIZERS[optimizer]()
    if not isinstance(optimizer, _OptimizerSettings):
        raise TypeError(f"optimizer: expected fastbp.SGD, Adam, AdamW, RProp, Lion or a name; "
                        f"got {type(optimizer).__name__}")
    return optimizer  # type: ignore[return-value]
