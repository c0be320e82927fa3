"""The base of the optimizer and schedule classes: frozen dataclasses whose fields are checked for
type here and for range once, by the compiled core, which keeps the resulting settings object for
every call (no conversion per step)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from . import _validation as check


class Settings:
    _kind: str
    _core_type: Any  # _core.Optimizer or _core.Schedule

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if f.type in (bool, "bool"):
                value = check.boolean(f.name, value)
            elif f.type in (int, "int"):  # a C int in the core
                value = check.integer(f.name, value, minimum=-2**31, maximum=2**31 - 1)
            else:
                value = check.number(f.name, value)
            object.__setattr__(self, f.name, value)
        object.__setattr__(self, "_core", self._core_type(self._kind, **self._fields()))

    def _fields(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]

    def _settings(self) -> dict:
        """The settings as a plain dict with the kind (what tests' reference optimizers read)."""
        return {"kind": self._kind, **self._fields()}

    def __reduce__(self):
        # The core object is rebuilt from the fields, not pickled.
        return type(self), tuple(self._fields().values())
