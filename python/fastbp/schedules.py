"""Learning-rate schedules for `MLP.fit`: the rate changes between epochs, in the compiled loop.

Each takes its starting rate from the optimizer's ``lr``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from . import _validation as check


@dataclass(frozen=True)
class ConstantLR:
    """The optimizer's rate throughout.

    >>> import fastbp
    >>> fastbp.ConstantLR()
    ConstantLR()
    """

    def _settings(self) -> dict:
        return {"kind": "constant"}


@dataclass(frozen=True)
class InverseScalingLR:
    """``lr / (t + 1) ** power_t``, t = samples trained before the epoch (scikit-learn's
    "invscaling").

    >>> import fastbp
    >>> fastbp.InverseScalingLR(power_t=0.25).power_t
    0.25
    """

    power_t: float = 0.5

    def __post_init__(self):
        object.__setattr__(self, "power_t", check.real("power_t", self.power_t, low=0))

    def _settings(self) -> dict:
        return {"kind": "invscaling", **asdict(self)}


@dataclass(frozen=True)
class StepLR:
    """``lr * gamma ** ((epoch - 1) // step_size)``.

    >>> import fastbp
    >>> fastbp.StepLR(step_size=30, gamma=0.1).step_size
    30
    """

    step_size: int = 10
    gamma: float = 0.1

    def __post_init__(self):
        object.__setattr__(self, "step_size", check.integer("step_size", self.step_size,
                                                            minimum=1))
        object.__setattr__(self, "gamma", check.real("gamma", self.gamma, low=0, high=1,
                                                     low_open=True))

    def _settings(self) -> dict:
        return {"kind": "step", **asdict(self)}


@dataclass(frozen=True)
class ExponentialLR:
    """``lr * gamma ** (epoch - 1)``.

    >>> import fastbp
    >>> fastbp.ExponentialLR(gamma=0.95).gamma
    0.95
    """

    gamma: float = 0.95

    def __post_init__(self):
        object.__setattr__(self, "gamma", check.real("gamma", self.gamma, low=0, high=1,
                                                     low_open=True))

    def _settings(self) -> dict:
        return {"kind": "exponential", **asdict(self)}


@dataclass(frozen=True)
class ReduceLROnPlateau:
    """Multiplies the rate by ``factor`` (not below ``min_lr``) once the monitored loss
    (validation loss with validation data, else training loss) has not improved by more than
    ``tol`` for more than ``patience`` epochs. scikit-learn's "adaptive" is ``factor=0.2``.

    >>> import fastbp
    >>> fastbp.ReduceLROnPlateau(patience=3).factor
    0.2
    """

    patience: int = 10
    factor: float = 0.2
    tol: float = 1e-4
    min_lr: float = 1e-6

    def __post_init__(self):
        object.__setattr__(self, "patience", check.integer("patience", self.patience, minimum=0))
        object.__setattr__(self, "factor", check.real("factor", self.factor, low=0, high=1,
                                                      low_open=True, high_open=True))
        object.__setattr__(self, "tol", check.real("tol", self.tol, low=0))
        object.__setattr__(self, "min_lr", check.real("min_lr", self.min_lr, low=0))

    def _settings(self) -> dict:
        return {"kind": "plateau", **asdict(self)}


SCHEDULES = {"constant": ConstantLR, "invscaling": InverseScalingLR, "step": StepLR,
             "exponential": ExponentialLR, "plateau": ReduceLROnPlateau,
             "adaptive": ReduceLROnPlateau}
Schedule = ConstantLR | InverseScalingLR | StepLR | ExponentialLR | ReduceLROnPlateau


def resolve(schedule) -> Schedule:
    if schedule is None:
        return ConstantLR()
    if isinstance(schedule, str):
        if schedule not in SCHEDULES:
            raise ValueError(f"lr_schedule: expected one of {', '.join(SCHEDULES)} or a "
                             f"schedule object; got {schedule!r}")
        return SCHEDULES[schedule]()
    if not isinstance(schedule, (ConstantLR, InverseScalingLR, StepLR, ExponentialLR,
                                 ReduceLROnPlateau)):
        raise TypeError(f"lr_schedule: expected a fastbp schedule (ConstantLR, "
                        f"InverseScalingLR, StepLR, ExponentialLR, ReduceLROnPlateau) or a "
                        f"name; got {type(schedule).__name__}")
    return schedule
