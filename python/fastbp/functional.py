"""Fused dense-layer operations for people who write their own training loops.

Each call works in one dtype, float32 or float64: float32 when every floating input is
float32, float64 otherwise (for ``dense_backward_sgd``, the dtype of ``W``, which it updates in
place).
"""

from __future__ import annotations

import numpy as np

from . import _core
from . import _validation as check


def _common_dtype(*arrays):
    kinds = [np.asarray(a).dtype for a in arrays]
    return np.float32 if all(k == np.float32 for k in kinds) else np.float64


def _layer_arrays(x, W, dtype):
    W = check.matrix("W", W, dtype)
    x = check.matrix("x", x, dtype, n_cols=W.shape[0])
    return x, W


_NEEDS_Z = {a["name"] for a in _core.activation_table() if a["derivative_needs_input"]}


def dense_forward(x, W, b, activation="identity", return_preactivation=False):
    """``act(x @ W + b)`` in one pass: bias and activation applied in the GEMM epilogue.

    With ``return_preactivation=True`` returns ``(a, z)``, z = x @ W + b: the backward step of an
    activation whose derivative needs it (silu, gelu, gelu_tanh) takes it.

    >>> import numpy as np, fastbp
    >>> x = np.ones((2, 3), np.float32); W = np.ones((3, 4), np.float32); b = np.zeros(4, np.float32)
    >>> fastbp.dense_forward(x, W, b, "relu")[0]
    array([3., 3., 3., 3.], dtype=float32)
    """
    activation = check.activation("activation", activation, check.OUTPUTS)
    return_preactivation = check.boolean("return_preactivation", return_preactivation)
    dtype = _common_dtype(x, W, b)
    x, W = _layer_arrays(x, W, dtype)
    b = check.vector("b", b, dtype, W.shape[1])
    return _core.dense_forward(x, W, b, activation, return_preactivation)


def _backward_inputs(grad_a, x, W, a, activation, z, dtype):
    activation = check.activation("activation", activation, check.OUTPUTS)
    x, W = _layer_arrays(x, W, dtype)
    n, n_out = x.shape[0], W.shape[1]
    a = check.matrix("a", a, dtype, n_cols=n_out, n_rows=n)
    grad_a = check.matrix("grad_a", grad_a, dtype, n_cols=n_out, n_rows=n)
    if z is not None:
        z = check.matrix("z", z, dtype, n_cols=n_out, n_rows=n)
    elif activation in _NEEDS_Z:
        raise ValueError(f"z: the derivative of {activation!r} needs the pre-activation "
                         f"z = x @ W + b; pass z= (dense_forward(..., return_preactivation=True) "
                         f"returns it)")
    return grad_a, x, W, a, activation, z


def dense_backward(grad_a, x, W, a, activation="identity", z=None):
    """Backward pass of ``a = act(x @ W + b)`` given ``grad_a = dL/da``.

    Returns ``(grad_x, grad_W, grad_b)``; the activation derivative is taken from the stored
    output ``a`` (softmax through its Jacobian), or for silu, gelu and gelu_tanh from the
    pre-activation ``z``.

    >>> import numpy as np, fastbp
    >>> x = np.ones((2, 3)); W = np.full((3, 4), 0.5); b = np.zeros(4)
    >>> a = fastbp.dense_forward(x, W, b, "relu")
    >>> grad_x, grad_W, grad_b = fastbp.dense_backward(np.ones_like(a), x, W, a, "relu")
    >>> grad_x[0], grad_b
    (array([2., 2., 2.]), array([2., 2., 2., 2.]))
    """
    dtype = _common_dtype(grad_a, x, W, a)
    grad_a, x, W, a, activation, z = _backward_inputs(grad_a, x, W, a, activation, z, dtype)
    return _core.dense_backward(grad_a, x, W, a, activation, z)


def dense_backward_sgd(grad_a, x, W, b, a, activation, lr, z=None):
    """Like `dense_backward`, but ``W`` and ``b`` take the SGD step in place inside the
    weight-gradient computation (no gradient matrix is written). Returns ``grad_x``, computed
    with ``W`` from before the step. ``W`` and ``b`` must be writeable C-contiguous arrays of the
    same float dtype.

    >>> import numpy as np, fastbp
    >>> x = np.ones((2, 3)); W = np.full((3, 4), 0.5); b = np.zeros(4)
    >>> a = fastbp.dense_forward(x, W, b, "relu")
    >>> grad_x = fastbp.dense_backward_sgd(np.ones_like(a), x, W, b, a, "relu", lr=0.1)
    >>> W[0, 0], b[0]  # 0.5 - 0.1 * 2 and 0 - 0.1 * 2
    (np.float64(0.3), np.float64(-0.2))
    """
    for name, array in (("W", W), ("b", b)):
        if not isinstance(array, np.ndarray):
            raise TypeError(f"{name}: expected a NumPy array updated in place, got "
                            f"{type(array).__name__}")
        if array.dtype not in (np.float32, np.float64):
            raise TypeError(f"{name}: expected float32 or float64, got {array.dtype}")
        if not array.flags.c_contiguous or not array.flags.writeable:
            raise ValueError(f"{name}: expected a writeable C-contiguous array")
    if b.dtype != W.dtype:
        raise TypeError(f"b: expected dtype {W.dtype} to match W, got {b.dtype}")
    if W.ndim != 2:
        raise ValueError(f"W: expected a 2-D array, got shape {W.shape}")
    if b.shape != (W.shape[1],):
        raise ValueError(f"b: expected shape ({W.shape[1]},) to match W of shape {W.shape}, "
                         f"got {b.shape}")
    lr = check.real("lr", lr, low=0, low_open=True)
    if not np.isfinite(W).all() or not np.isfinite(b).all():
        raise ValueError("W, b: contain NaN or infinity")
    grad_a, x, _, a, activation, z = _backward_inputs(grad_a, x, W, a, activation, z, W.dtype)
    return _core.dense_backward_sgd(grad_a, x, W, b, a, activation, lr, z)
