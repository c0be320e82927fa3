"""fastbp: fast backpropagation for multilayer perceptrons on the CPU.

>>> import fastbp
>>> net = fastbp.MLP([784, 128, 10], hidden="relu", output="softmax")   # doctest: +SKIP
>>> net.fit(X, labels, epochs=10, batch_size=64, lr=0.1)                 # doctest: +SKIP
"""

import warnings as _warnings

from . import _core, distributed, losses, parallel
from ._core import DivergenceError, cpu_info, simd_level
from .functional import dense_backward, dense_backward_sgd, dense_forward
from .gradcheck import gradcheck
from .history import History
from .lbfgs import LBFGS
from .mlp import MLP
from .optimizers import SGD, Adam, AdamW, Lion, RProp
from .parallel import get_num_threads, set_num_threads
from .predictor import Predictor
from .schedules import (ConstantLR, ExponentialLR, InverseScalingLR, ReduceLROnPlateau,
                        StepLR)

__version__: str = _core.__version__

if _core.unrecognised_simd_request():
    _warnings.warn(f"FASTBP_SIMD={_core.unrecognised_simd_request()!r} names no kernel level "
                   f"(expected one of reference, portable, avx2, avx512); fastbp uses "
                   f"{_core.simd_level()!r}, the best this CPU has", RuntimeWarning, stacklevel=2)

__all__ = [
    "MLP",
    "Predictor",
    "History",
    "SGD",
    "Adam",
    "AdamW",
    "RProp",
    "Lion",
    "LBFGS",
    "ConstantLR",
    "InverseScalingLR",
    "StepLR",
    "ExponentialLR",
    "ReduceLROnPlateau",
    "DivergenceError",
    "dense_forward",
    "dense_backward",
    "dense_backward_sgd",
    "gradcheck",
    "get_num_threads",
    "set_num_threads",
    "simd_level",
    "cpu_info",
    "parallel",
    "distributed",
    "losses",
    "__version__",
]
