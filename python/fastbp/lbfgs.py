"""Full-batch L-BFGS through scipy's L-BFGS-B, for small data sets: scikit-learn's
``solver="lbfgs"`` and ``MLP.fit(optimizer=fastbp.LBFGS())``.

scipy keeps the flat parameter vector and chooses the steps; each evaluation of the objective
is one compiled call (``cpp/include/fastbp/objective.hpp``): the parameters go into the network,
one forward and one backward pass run over the whole data set, and the loss with its L2 term
and the packed gradient come back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from . import _validation as check


@dataclass(frozen=True)
class LBFGS:
    """Limited-memory BFGS on the whole data set (scipy's L-BFGS-B; needs scipy).

    ``MLP.fit(X, T, epochs=k, optimizer=fastbp.LBFGS())`` runs up to k iterations, each one or
    more evaluations of the loss and its gradient over all of (X, T); it stops earlier when the
    largest gradient component falls below ``tol`` or after ``max_fun`` evaluations. No
    learning rate: a line search picks each step. ``weight_decay`` adds
    ``0.5 * weight_decay * |W|^2`` to the objective (weights, not biases).
    ``history_size`` is the number of past steps that approximate the curvature.

    >>> import numpy as np, fastbp
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    >>> net = fastbp.MLP([2, 8, 1], hidden="tanh", output="sigmoid", dtype="float64", seed=0)
    >>> history = net.fit(X, [0, 1, 1, 0], epochs=200, optimizer=fastbp.LBFGS())
    >>> bool(history.loss[-1] < 1e-3), net.predict(X).round().ravel().tolist()
    (True, [0.0, 1.0, 1.0, 0.0])
    """

    max_fun: int = 15000
    tol: float = 1e-5
    history_size: int = 10
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "max_fun", check.integer("max_fun", self.max_fun, minimum=1))
        object.__setattr__(self, "tol", check.real("tol", self.tol, low=0))
        object.__setattr__(self, "history_size",
                           check.integer("history_size", self.history_size, minimum=1))
        object.__setattr__(self, "weight_decay",
                           check.real("weight_decay", self.weight_decay, low=0))


def scipy_minimize() -> Callable[..., Any]:
    try:
        from scipy.optimize import minimize
    except ImportError:
        raise ImportError("L-BFGS training needs scipy: pip install scipy (the other optimizers "
                          "and solvers work without it)") from None
    return minimize


def minimize(net, X, values, labels, *, max_iter: int, max_fun: int, tol: float,
             history_size: int = 10, l2: float = 0.0, loss_scale: float = 1.0,
             callback: Callable[[float], None] | None = None, sample_weight=None) -> Any:
    """Runs L-BFGS-B from the network's parameters and leaves the network at its result.

    ``net`` is a compiled network (``MLP._net``); ``l2`` is scikit-learn's alpha (the objective
    adds ``0.5 * l2 * |W|^2 / n``, n the rows or the sum of ``sample_weight``);
    ``loss_scale`` multiplies the reported loss (not the gradient), as scikit-learn's squared
    error is averaged over the outputs. ``callback(loss)``
    is called after every iteration with the network at its new parameters; raising
    StopIteration ends the run there. Returns scipy's OptimizeResult.
    """
    run = scipy_minimize()

    def objective(parameters):
        return net.loss_and_gradient(parameters, X, values, labels, l2, loss_scale,
                                     sample_weight)

    def after_iteration(intermediate_result):
        net.set_flat_parameters(intermediate_result.x)
        callback(float(intermediate_result.fun))

    result = run(objective, net.flat_parameters(), method="L-BFGS-B", jac=True,
                 callback=after_iteration if callback is not None else None,
                 options={"maxiter": max_iter, "maxfun": max_fun, "gtol": tol,
                          "maxcor": history_size})
    net.set_flat_parameters(np.ascontiguousarray(result.x, dtype=np.float64))
    return result
