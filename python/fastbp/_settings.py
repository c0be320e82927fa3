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
    _field_kinds: tuple  # set per class by _kinds()

    def __post_init__(self) -> None:
        # Made in own training loops on every step, so the common case (plain float, int and
        # bool values) is checked by exact type; anything else goes through the full checks.
        values = {}
        for name, kind in self._kinds():
            value = getattr(self, name)
            if kind == "bool":
                if type(value) is not bool:
                    value = check.boolean(name, value)
            elif kind == "int":  # a C int in the core
                if type(value) is not int or not -2**31 <= value < 2**31:
                    value = check.integer(name, value, minimum=-2**31, maximum=2**31 - 1)
            elif type(value) is not float:
                value = check.number(name, value)
            object.__setattr__(self, name, value)
            values[name] = value
        object.__setattr__(self, "_core", self._core_type(self._kind, **values))

    @classmethod
    def _kinds(cls) -> tuple:
        """(name, "bool" | "int" | "float") of every field, worked out once per class."""
        kinds = cls.__dict__.get("_field_kinds")
        if kinds is None:
            kinds = tuple((f.name, {bool: "bool", "bool": "bool", int: "int", "int": "int"}.get(
                f.type, "float")) for f in fields(cls))  # type: ignore[arg-type]
            cls._field_kinds = kinds
        return kinds

    def _fields(self) -> dict:
        return {name: getattr(self, name) for name, _ in self._kinds()}

    def _settings(self) -> dict:
        """The settings as a plain dict with the kind (what tests' reference optimizers read)."""
        return {"kind": self._kind, **self._fields()}

    def __reduce__(self):
        # The core object is rebuilt from the fields, not pickled.
        return type(self), tuple(self._fields().values())
