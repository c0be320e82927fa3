"""fastbp: fast backpropagation for multilayer perceptrons on the CPU.

>>> import fastbp
>>> net = fastbp.MLP([784, 128, 10], hidden="relu", output="softmax")   # doctest: +SKIP
>>> net.fit(X, labels, epochs=10, batch_size=64, lr=0.1)                 # doctest: +SKIP
"""

from . import parallel
from ._core import DivergenceError, simd_level
from .functional import dense_backward, dense_backward_sgd, dense_forward
from .gradcheck import gradcheck
from .history import History
from .mlp import MLP
from .optimizers import SGD, Adam, AdamW, RProp
from .parallel import get_num_threads, set_num_threads
from .schedules import (ConstantLR, ExponentialLR, InverseScalingLR, ReduceLROnPlateau,
                        StepLR)

__version__ = "0.1.0"

__all__ = [
    "MLP",
    "History",
    "SGD",
    "Adam",
    "AdamW",
    "RProp",
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
    "parallel",
    "__version__",
]
