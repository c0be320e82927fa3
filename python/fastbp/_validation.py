"""Argument checking for the public API: every bad input becomes a ValueError or TypeError that
names the argument, what was expected and what was given. Arrays that already are what the core
takes go through ready_matrix/ready_targets; the core then checks their contents itself (label
and target ranges, sample weights) with messages of its own."""

from __future__ import annotations

import numbers
import operator
import sys

import numpy as np

from . import _core

# The names come from the core's tables (one descriptor per activation, loss and optimizer), with
# the aliases the core accepts too.
_ACTIVATION_TABLE = _core.activation_table()
ACTIVATIONS = tuple(a["name"] for a in _ACTIVATION_TABLE if not a["output_only"])
OUTPUTS = tuple(a["name"] for a in _ACTIVATION_TABLE)
ALIASES = {a["alias"]: a["name"] for a in _ACTIVATION_TABLE if a["alias"]}
LOSSES = tuple(loss["name"] for loss in _core.loss_table())
DTYPES = ("float32", "float64")


def choice(name, value, allowed):
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected a string, one of {', '.join(allowed)}; "
                        f"got {type(value).__name__}")
    if value not in allowed:
        raise ValueError(f"{name}: expected one of {', '.join(allowed)}; got {value!r}")
    return value


def activation(name, value, allowed):
    """An activation name (or one of the core's aliases, such as "logistic"), as its name."""
    if isinstance(value, str) and value in ALIASES and ALIASES[value] in allowed:
        return ALIASES[value]
    return choice(name, value, allowed)


def model_dtype(dtype) -> str:
    """A model's dtype: float32, float64, or bfloat16 (the string, or ml_dtypes' bfloat16)."""
    if isinstance(dtype, str) and dtype == "bfloat16":
        return dtype
    try:
        resolved = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype: expected 'float32', 'float64' or 'bfloat16', "
                        f"got {dtype!r}") from exc
    if resolved.name not in (*DTYPES, "bfloat16"):
        raise ValueError(f"dtype: expected 'float32', 'float64' or 'bfloat16', "
                         f"got {resolved.name!r}")
    return resolved.name


def integer(name, value, minimum=None, maximum=None):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer, got {type(value).__name__}")
    value = operator.index(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name}: expected an integer <= {maximum}, got {value}")
    return value


def number(name, value):
    """A real number (not a bool), as a float; its range is the caller's (or the core's) to check."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {type(value).__name__}")
    return float(value)


def boolean(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected a bool, got {type(value).__name__}")
    return bool(value)


def real(name, value, low=None, high=None, low_open=False, high_open=False):
    """A finite real number in the given interval ([low, high] unless marked open)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {type(value).__name__}")
    value = float(value)
    bad = not np.isfinite(value)
    if low is not None:
        bad |= value <= low if low_open else value < low
    if high is not None:
        bad |= value >= high if high_open else value > high
    if bad:
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        interval = f"{lo}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi}"
        raise ValueError(f"{name}: expected a finite number in {interval}, got {value}")
    return value


def seed(name, value):
    """None draws fresh entropy; otherwise a non-negative integer below 2**64."""
    if value is None:
        return int(np.random.SeedSequence().entropy) % (1 << 64)
    value = integer(name, value, minimum=0)
    if value >= 1 << 64:
        raise ValueError(f"{name}: expected an integer below 2**64, got {value}")
    return value


def _from_pandas(value):
    """A pandas frame or series of nullable extension dtypes ("Float64", "Int64") becomes a NumPy
    array (int64 when all integer and complete; else float64 with missing values as NaN, which
    the finite check then names); np.asarray would give dtype object. Anything else is returned
    as it is."""
    to_numpy, dtypes = getattr(value, "to_numpy", None), getattr(value, "dtypes", None)
    if to_numpy is None or dtypes is None:
        return value
    kinds = [dtypes] if not hasattr(dtypes, "__iter__") else list(dtypes)
    if not kinds or not all(type(d).__module__.startswith("pandas") and
                            getattr(d, "kind", "O") in "biuf" for d in kinds):
        return value
    if all(d.kind in "iu" for d in kinds):
        try:
            return to_numpy(dtype=np.int64)  # integer labels stay integers
        except (ValueError, TypeError):
            pass  # a missing value: NaN below
    return to_numpy(dtype=np.float64, na_value=np.nan)


def _numeric_array(name, value):
    if value is None:
        raise TypeError(f"{name}: expected an array of numbers, got None")
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name}: expected an array of numbers, got {type(value).__name__}")
    try:
        array = np.asarray(_from_pandas(value))
    except (ValueError, TypeError) as exc:
        raise TypeError(f"{name}: expected an array of numbers ({exc})") from exc
    if array.dtype.kind not in "biuf":
        hint = ""
        if array.dtype.kind in "USO" and name == "T":
            hint = (" (class names such as strings: encode them as integers 0..n_classes-1, or "
                    "use fastbp.sklearn.MLPClassifier, which takes any labels)")
        raise TypeError(f"{name}: expected an array of real numbers, got dtype "
                        f"{array.dtype}{hint}")
    return array


def _require_finite(name, array):
    if array.dtype.kind != "f":
        return
    if array.dtype in (np.float32, np.float64) and array.flags.c_contiguous:
        finite = _core.all_finite(array)  # one SIMD pass, no temporary, GIL released
    else:
        finite = bool(np.isfinite(array).all())
    if not finite:
        raise ValueError(f"{name}: contains NaN or infinity")


def _converted(name, array, dtype):
    """One conversion to a C-contiguous `dtype` array, then one finite check of the result:
    NaN and infinity survive the conversion, and a float64 value too large for float32 becomes
    infinity, so the converted array alone tells."""
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(array, dtype=dtype)
    _require_finite(name, out)
    return out


# The per-call fast path: arrays that already are what the core takes are passed on after one
# SIMD finiteness pass, without the conversions and the messages' machinery (a few microseconds
# a call, which own training loops pay on every step). Anything else takes the full checks.

def ready_matrix(value, dtype, n_cols):
    """`value` if it is a C-contiguous 2-D ndarray of `dtype` with n_cols columns, at least one
    row and finite entries; else None."""
    if (type(value) is np.ndarray and value.dtype == dtype and value.ndim == 2
            and value.shape[1] == n_cols and value.shape[0] > 0 and value.flags.c_contiguous
            and _core.all_finite(value)):
        return value
    return None


def ready_targets(value, n, n_out, loss, dtype):
    """(values, labels) if `value` already is what the core takes for n samples: int64 labels
    or a finite (n, n_out) matrix of `dtype` (the core checks the labels' and bce targets'
    ranges); else None."""
    if type(value) is not np.ndarray or not value.flags.c_contiguous:
        return None
    if value.ndim == 1 and value.dtype == np.int64 and loss == "softmax_ce" and len(value) == n:
        return None, value
    if (value.ndim == 2 and value.dtype == dtype and value.shape == (n, n_out)
            and _core.all_finite(value)):
        return value, None
    return None


def matrix(name, value, dtype, n_cols=None, n_rows=None):
    """A C-contiguous 2-D array of `dtype` with at least one row and finite entries."""
    array = _numeric_array(name, value)
    if array.ndim != 2:
        hint = " (use .reshape(1, -1) for one sample or .reshape(-1, 1) for one feature)" \
            if array.ndim == 1 else ""
        raise ValueError(f"{name}: expected a 2-D array, got {array.ndim}-D with shape "
                         f"{array.shape}{hint}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name}: expected a non-empty array, got shape {array.shape}")
    if n_cols is not None and array.shape[1] != n_cols:
        raise ValueError(f"{name}: expected {n_cols} columns, got shape {array.shape}")
    if n_rows is not None and array.shape[0] != n_rows:
        raise ValueError(f"{name}: expected {n_rows} rows to match X, got shape {array.shape}")
    return _converted(name, array, dtype)


class SparseRows:
    """A CSR matrix as the core reads it: ``indptr`` and ``indices`` as scipy stores them (int32
    or int64; the core takes its own int64 copy), ``data`` in the model's dtype (finite, read in
    place), and its ``shape``. Rows are selected with an index array
    (``x[rows]``), as fit's validation splits do."""

    format = "csr"
    __slots__ = ("indptr", "indices", "data", "shape")

    def __init__(self, indptr, indices, data, shape):
        self.indptr, self.indices, self.data, self.shape = indptr, indices, data, shape

    def __getitem__(self, rows):
        rows = np.asarray(rows, dtype=np.int64)
        starts, lengths = self.indptr[rows], self.indptr[rows + 1] - self.indptr[rows]
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        # position k of the new rows is starts[row] + (k - indptr[row])
        taken = np.repeat(starts - indptr[:-1], lengths) + np.arange(indptr[-1])
        return SparseRows(indptr, self.indices[taken], self.data[taken],
                          (len(rows), self.shape[1]))


def is_sparse(value) -> bool:
    """A scipy.sparse matrix or array (scipy is imported already if `value` is one)."""
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(value)


def sparse_rows(name, value, dtype, n_cols=None):
    """A scipy.sparse matrix or array (any format) as `SparseRows`: at least one row, n_cols
    columns, real and finite stored values."""
    if isinstance(value, SparseRows):
        if value.data.dtype == dtype and (n_cols is None or value.shape[1] == n_cols):
            return value
        value = _as_scipy(value)
    if len(value.shape) != 2:
        raise ValueError(f"{name}: expected a 2-D sparse matrix, got shape {value.shape}")
    if value.shape[0] == 0 or value.shape[1] == 0:
        raise ValueError(f"{name}: expected a non-empty matrix, got shape {value.shape}")
    if n_cols is not None and value.shape[1] != n_cols:
        raise ValueError(f"{name}: expected {n_cols} columns, got shape {value.shape}")
    csr = value.tocsr()
    if csr.data.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected a sparse matrix of real numbers, got dtype "
                        f"{csr.data.dtype}")
    return SparseRows(np.ascontiguousarray(csr.indptr), np.ascontiguousarray(csr.indices),
                      _converted(name, csr.data, dtype), tuple(csr.shape))


def _as_scipy(x: SparseRows):
    from scipy.sparse import csr_matrix
    return csr_matrix((x.data, x.indices, x.indptr), shape=x.shape)


def vector(name, value, dtype, size):
    """A C-contiguous 1-D array of `size` finite values of `dtype`."""
    array = _numeric_array(name, value)
    if array.shape != (size,):
        raise ValueError(f"{name}: expected shape ({size},), got {array.shape}")
    return _converted(name, array, dtype)


def sample_weights(name, value, n, dtype):
    """None, or n finite weights >= 0 with a positive sum, C-contiguous in `dtype`."""
    if value is None:
        return None
    array = _numeric_array(name, value)
    if array.ndim == 0:
        raise ValueError(f"{name}: expected one weight per sample, shape ({n},), got a scalar")
    weights = vector(name, array, dtype, n)
    if weights.size and weights.min() < 0:
        raise ValueError(f"{name}: weights must be >= 0, got {weights.min()}")
    if not weights.sum() > 0:
        raise ValueError(f"{name}: all the weights are zero; at least one sample needs a "
                         f"weight > 0")
    return weights


def targets(name, value, n, n_out, loss, dtype):
    """Returns (values, labels): one of them None, shaped and typed for the compiled core."""
    array = _numeric_array(name, value)
    if loss == "softmax_ce" and array.ndim == 1:
        if array.dtype.kind not in "iu":
            raise TypeError(f"{name}: class labels must be integers, got dtype {array.dtype} "
                            f"(or give a float matrix of shape ({n}, {n_out}))")
        if array.shape[0] != n:
            raise ValueError(f"{name}: expected {n} labels to match X, got shape {array.shape}")
        if array.size and (array.min() < 0 or array.max() >= n_out):
            bad = array[(array < 0) | (array >= n_out)][0]
            raise ValueError(f"{name}: class labels must be in [0, {n_out}), got {bad}")
        return None, np.ascontiguousarray(array, dtype=np.int64)
    if array.ndim == 1 and n_out == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2 or array.shape != (n, n_out):
        expected = f"({n}, {n_out})" + (f" or ({n},)" if n_out == 1 else "")
        hint = ""
        if loss == "softmax_ce":
            expected += f" or integer labels ({n},)"
        elif array.shape == (n,) and array.dtype.kind in "iu" and n_out > 1:
            hint = (" (integer class labels need a softmax output: "
                    "MLP([...], output=\"softmax\"), which uses loss=\"softmax_ce\")")
        raise ValueError(f"{name}: expected shape {expected}, got {array.shape}{hint}")
    out = _converted(name, array, dtype)
    if loss == "bce" and (out.min() < 0 or out.max() > 1):
        raise ValueError(f"{name}: bce targets must lie in [0, 1], got values in "
                         f"[{out.min()}, {out.max()}]")
    return out, None
