"""Optimizers for `MLP.fit` and `MLP.train_step`. Each is a small immutable settings object; the
update itself runs in the compiled training loop, inside the weight-gradient GEMM: in its
epilogue for plain SGD and classical momentum, on each finished gradient tile for the others.

Weight decay applies to weights, not biases. The optimizer's state (velocity, Adam's moments,
RProp's step sizes) lives in the model and carries over between calls until the optimizer kind
changes or `MLP.reset_optimizer` is called.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from . import _validation as check


@dataclass(frozen=True)
class SGD:
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

    def __post_init__(self):
        _set(self, "lr", check.real("lr", self.lr, low=0, low_open=True))
        _set(self, "momentum", check.real("momentum", self.momentum, low=0, high=1,
                                          high_open=True))
        _set(self, "nesterov", check.boolean("nesterov", self.nesterov))
        _set(self, "weight_decay", check.real("weight_decay", self.weight_decay, low=0))
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov: Nesterov momentum needs momentum > 0, got momentum=0")

    def _settings(self) -> dict:
        return {"kind": "sgd", **asdict(self)}


@dataclass(frozen=True)
class Adam:
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

    def __post_init__(self):
        _set(self, "lr", check.real("lr", self.lr, low=0, low_open=True))
        _set(self, "beta1", check.real("beta1", self.beta1, low=0, high=1, high_open=True))
        _set(self, "beta2", check.real("beta2", self.beta2, low=0, high=1, high_open=True))
        _set(self, "epsilon", check.real("epsilon", self.epsilon, low=0, low_open=True))
        _set(self, "weight_decay", check.real("weight_decay", self.weight_decay, low=0))
        _set(self, "epsilon_uncorrected", check.boolean("epsilon_uncorrected",
                                                        self.epsilon_uncorrected))

    def _settings(self) -> dict:
        return {"kind": self._kind, **asdict(self)}


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
class RProp:
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

    def __post_init__(self):
        _set(self, "eta_minus", check.real("eta_minus", self.eta_minus, low=0, high=1,
                                           low_open=True, high_open=True))
        _set(self, "eta_plus", check.real("eta_plus", self.eta_plus, low=1, low_open=True))
        _set(self, "step_min", check.real("step_min", self.step_min, low=0))
        _set(self, "step_max", check.real("step_max", self.step_max, low=self.step_min,
                                          low_open=True))
        _set(self, "step_init", check.real("step_init", self.step_init, low=0, low_open=True))
        if not self.step_min <= self.step_init <= self.step_max:
            raise ValueError(f"step_init: expected a value in [step_min, step_max] = "
                             f"[{self.step_min}, {self.step_max}], got {self.step_init}")
        _set(self, "weight_decay", check.real("weight_decay", self.weight_decay, low=0))

    def _settings(self) -> dict:
        return {"kind": "rprop", **asdict(self)}


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rprop": RProp}
Optimizer = SGD | Adam | AdamW | RProp


def resolve(optimizer, lr, momentum) -> SGD | Adam | RProp:
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
    if not isinstance(optimizer, (SGD, Adam, RProp)):
        raise TypeError(f"optimizer: expected fastbp.SGD, Adam, AdamW, RProp or a name; "
                        f"got {type(optimizer).__name__}")
    return optimizer


def _set(obj, name, value):
    object.__setattr__(obj, name, value)
