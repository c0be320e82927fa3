"""Learning-rate schedules for `MLP.fit`: the rate changes between epochs, in the compiled loop.

Each takes its starting rate from the optimizer's ``lr``; ranges are checked by the compiled core.

>>> import fastbp
>>> fastbp.StepLR(step_size=30, gamma=0.5)
StepLR(step_size=30, gamma=0.5)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from . import _core
from ._settings import Settings


class _ScheduleSettings(Settings):
    _core_type = _core.Schedule


@dataclass(frozen=True)
class ConstantLR(_ScheduleSettings):
    """The optimizer's rate throughout.

    >>> import fastbp
    >>> fastbp.ConstantLR()
    ConstantLR()
    """

    _kind = "constant"


@dataclass(frozen=True)
class InverseScalingLR(_ScheduleSettings):
    """``lr / (t + 1) ** power_t``, t = samples trained before the epoch (scikit-learn's
    "invscaling").

    >>> import fastbp
    >>> fastbp.InverseScalingLR(power_t=0.25).power_t
    0.25
    """

    power_t: float = 0.5

    _kind = "invscaling"


@dataclass(frozen=True)
class StepLR(_ScheduleSettings):
    """``lr * gamma ** ((epoch - 1) // step_size)``.

    >>> import fastbp
    >>> fastbp.StepLR(step_size=30, gamma=0.1).step_size
    30
    """

    step_size: int = 10
    gamma: float = 0.1

    _kind = "step"


@dataclass(frozen=True)
class ExponentialLR(_ScheduleSettings):
    """``lr * gamma ** (epoch - 1)``.

    >>> import fastbp
    >>> fastbp.ExponentialLR(gamma=0.95).gamma
    0.95
    """

    gamma: float = 0.95

    _kind = "exponential"


@dataclass(frozen=True)
class ReduceLROnPlateau(_ScheduleSettings):
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

    _kind = "plateau"


SCHEDULES = {"constant": ConstantLR, "invscaling": InverseScalingLR, "step": StepLR,
             "exponential": ExponentialLR, "plateau": ReduceLROnPlateau,
             "adaptive": ReduceLROnPlateau}
Schedule = Union[ConstantLR, InverseScalingLR, StepLR, ExponentialLR, ReduceLROnPlateau]


def resolve(schedule: Any) -> Schedule:
    if schedule is None:
        return ConstantLR()
    if isinstance(schedule, str):
        if schedule not in SCHEDULES:
            raise ValueError(f"lr_schedule: expected one of {', '.join(SCHEDULES)} or a "
                             f"schedule object; got {schedule!r}")
        return SCHEDULES[schedule]()
    if not isinstance(schedule, _ScheduleSettings):
        raise TypeError(f"lr_schedule: expected a fastbp schedule (ConstantLR, "
                        f"InverseScalingLR, StepLR, ExponentialLR, ReduceLROnPlateau) or a "
                        f"name; got {type(schedule).__name__}")
    return schedule  # type: ignore[return-value]
