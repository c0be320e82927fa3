"""The core's activation table (one descriptor per activation, in C++) as Python sees it: what
each activation is called in PyTorch and ONNX and how C writes it, for the converters."""

from __future__ import annotations

from . import _core

ACTIVATIONS = {entry["name"]: entry for entry in _core.activation_table()}


def arguments(text: str) -> dict:
    """"negative_slope=0.01,approximate=tanh" -> {"negative_slope": 0.01, "approximate": "tanh"}"""
    out: dict = {}
    for item in filter(None, text.split(",")):
        key, value = item.split("=")
        for kind in (int, float):
            try:
                out[key] = kind(value)
                break
            except ValueError:
                continue
        else:
            out[key] = value
    return out
