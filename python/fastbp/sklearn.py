"""scikit-learn estimators: `MLPClassifier` and `MLPRegressor`, drop-in replacements for
``sklearn.neural_network``'s, trained by fastbp's compiled loop.

The constructor parameters and fitted attributes are scikit-learn's, with the same meanings. The
whole of training runs in fastbp's compiled epoch loop, one call per fit: shuffling, mini-batches,
the fused SGD or Adam updates, the L2 penalty, and scikit-learn's rules between epochs (its
tolerance-based stopping, "adaptive" and "invscaling" rates, early stopping on the validation
accuracy or R^2 with the best weights restored).

Differences from scikit-learn, all deliberate or not yet done:

- solvers: "lbfgs" (scipy's L-BFGS-B, as scikit-learn; each evaluation of the loss and its
  gradient is one compiled call), "sgd", "adam", and fastbp's "rprop" (full-batch iRPROP-).
- ``sample_weight`` in fit and partial_fit, as scikit-learn's; and on the classifier a
  ``class_weight`` ("balanced" or a dict), which scikit-learn's MLP does not have.
- ``MLPRegressor(loss="poisson")``: half the Poisson deviance with the log link (an exp
  output), computed from the logits, as scikit-learn's.
- sparse X (scipy.sparse CSR, CSC or COO, matrices or arrays) trains through a sparse first
  layer, never densified, with the dense input's results (scikit-learn multiplies the sparse
  matrix in scipy and updates every weight).
- the same weight initialisation (the same numbers for the same ``random_state``) and the same
  update formulas (with full batches the weights after each epoch are scikit-learn's to 1e-9),
  but mini-batches are shuffled by fastbp's own generator, so runs differ in detail.
- an extra ``dtype`` parameter: None follows X (float32 stays float32, anything else becomes
  float64, as scikit-learn does); "float32" trains in float32 whatever X is, about twice as fast;
  "bfloat16" multiplies matrices in bfloat16 with float32 weights (see `fastbp.MLP`).

Examples
--------
>>> from sklearn.datasets import load_iris
>>> from sklearn.model_selection import train_test_split
>>> from fastbp.sklearn import MLPClassifier
>>> X, y = load_iris(return_X_y=True)
>>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
>>> clf = MLPClassifier(hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=1000,
...                     random_state=0)
>>> clf.fit(X_train, y_train).score(X_test, y_test) > 0.9
True
"""

from __future__ import annotations

import inspect
import numbers
import os
import types
import warnings
from typing import Any

import numpy as np
import numpy.typing as npt

try:
    import sklearn  # noqa: F401
except ImportError as exc:
    raise ImportError("fastbp.sklearn needs scikit-learn: pip install scikit-learn (or pip install "
                      "fastbp[sklearn]); fastbp.MLP works without it") from exc
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _core, lbfgs
from . import _validation as check
from .mlp import MLP
from .optimizers import SGD, Adam, RProp
from .schedules import ConstantLR, InverseScalingLR, ReduceLROnPlateau

_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
_OUT_ACTIVATIONS = {"identity": "identity", "sigmoid": "logistic", "softmax": "softmax",
                    "exp": "exp"}
_SOLVERS = ("lbfgs", "sgd", "adam", "rprop")
_STOCHASTIC_SOLVERS = ("sgd", "adam", "rprop")
_LEARNING_RATES = ("constant", "invscaling", "adaptive")


class _BaseMLP(BaseEstimator):
    """What MLPClassifier and MLPRegressor share: parameters, the epoch loop, attributes."""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 dtype=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dtype = dtype

    # -- fitted attributes that live in the model -------------------------------------------
    @property
    def coefs_(self) -> list:
        """Weight matrices, ``coefs_[i]`` of shape (units in layer i, units in layer i+1);
        live views: writing them changes the model. Assigning a new list (as scikit-learn
        allows) sets the weights the next fit, partial_fit or prediction starts from."""
        assigned = self.__dict__.get("_assigned_coefs")
        return assigned if assigned is not None else self._model().weights

    @coefs_.setter
    def coefs_(self, value: list) -> None:
        self.__dict__["_assigned_coefs"] = value

    @property
    def intercepts_(self) -> list:
        """Bias vectors, live views; assignable like `coefs_`."""
        assigned = self.__dict__.get("_assigned_intercepts")
        return assigned if assigned is not None else self._model().biases

    @intercepts_.setter
    def intercepts_(self, value: list) -> None:
        self.__dict__["_assigned_intercepts"] = value

    def _model(self) -> MLP:
        try:
            model = self._fastbp_model
        except AttributeError:
            raise AttributeError("this estimator is not fitted yet: call fit first") from None
        self._take_assigned_parameters(model)
        return model

    def _take_assigned_parameters(self, model: MLP) -> None:
        """Copies lists assigned to coefs_ / intercepts_ into the model (their shapes must be
        the model's), after which those attributes are the model's live views again."""
        for name, current in (("coefs_", model.weights), ("intercepts_", model.biases)):
            assigned = self.__dict__.pop("_assigned_" + name[:-1], None)
            if assigned is None:
                continue
            if not isinstance(assigned, (list, tuple)) or len(assigned) != len(current):
                raise ValueError(f"{name}: expected a list of {len(current)} arrays, got "
                                 f"{type(assigned).__name__}"
                                 + (f" of length {len(assigned)}"
                                    if isinstance(assigned, (list, tuple)) else ""))
            for i, (new, view) in enumerate(zip(assigned, current)):
                new = np.asarray(new, dtype=view.dtype)
                if view.ndim == 1 and new.shape == ():
                    new = new.reshape(1)
                if new.shape != view.shape:
                    raise ValueError(f"{name}[{i}]: expected shape {view.shape}, got "
                                     f"{new.shape}")
                view[...] = new

    @property
    def model_(self) -> MLP:
        """The trained `fastbp.MLP` (for `to_torch`, `save`, ...)."""
        return self._model()

    # -- checks ------------------------------------------------------------------------------
    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral) and not isinstance(sizes, (bool, np.bool_)):
            sizes = [sizes]
        try:
            sizes = list(sizes)
        except TypeError:
            raise TypeError(f"hidden_layer_sizes: expected an int or a sequence of ints, got "
                            f"{type(self.hidden_layer_sizes).__name__}") from None
        for i, s in enumerate(sizes):
            check.integer(f"hidden_layer_sizes[{i}]", s, minimum=1)
        return [int(s) for s in sizes]

    def _check_params(self):
        check.choice("activation", self.activation, tuple(_ACTIVATIONS))
        check.choice("solver", self.solver, _SOLVERS)
        check.real("alpha", self.alpha, low=0)
        if not (isinstance(self.batch_size, str) and self.batch_size == "auto"):
            check.integer("batch_size", self.batch_size, minimum=1)
        check.choice("learning_rate", self.learning_rate, _LEARNING_RATES)
        check.real("learning_rate_init", self.learning_rate_init, low=0, low_open=True)
        check.real("power_t", self.power_t, low=0)
        check.integer("max_iter", self.max_iter, minimum=1)
        check.boolean("shuffle", self.shuffle)
        check.real("tol", self.tol, low=0)
        check.boolean("warm_start", self.warm_start)
        check.real("momentum", self.momentum, low=0, high=1, high_open=True)
        check.boolean("nesterovs_momentum", self.nesterovs_momentum)
        check.boolean("early_stopping", self.early_stopping)
        check.real("validation_fraction", self.validation_fraction, low=0, high=1, high_open=True)
        check.real("beta_1", self.beta_1, low=0, high=1, high_open=True)
        check.real("beta_2", self.beta_2, low=0, high=1, high_open=True)
        check.real("epsilon", self.epsilon, low=0, low_open=True)
        if self.n_iter_no_change != np.inf:
            check.integer("n_iter_no_change", self.n_iter_no_change, minimum=1)
        check.integer("max_fun", self.max_fun, minimum=1)
        if self.dtype is not None:
            check.model_dtype(self.dtype)
        return self._hidden_sizes()

    # -- training ----------------------------------------------------------------------------
    def _initialise(self, rng):
        """scikit-learn's initialisation: weights and biases uniform in +-sqrt(factor /
        (fan_in + fan_out)), factor 2 for logistic hidden units and 6 otherwise, drawn layer by
        layer (weights, then biases) from the estimator's random state."""
        factor = 2.0 if self.activation == "logistic" else 6.0
        model = self._fastbp_model
        for W, b in zip(model.weights, model.biases):
            bound = np.sqrt(factor / (W.shape[0] + W.shape[1]))
            W[...] = rng.uniform(-bound, bound, W.shape)
            b[...] = rng.uniform(-bound, bound, b.shape)

    def _make_optimizer(self):
        # scikit-learn's L2 penalty enters each batch through FitOptions.l2 (alpha / rows).
        if self.solver == "sgd":
            return SGD(lr=self.learning_rate_init, momentum=self.momentum,
                       nesterov=bool(self.nesterovs_momentum and self.momentum > 0))
        if self.solver == "adam":
            return Adam(lr=self.learning_rate_init, beta1=self.beta_1, beta2=self.beta_2,
                        epsilon=self.epsilon, epsilon_uncorrected=True)
        return RProp()

    def _schedule(self):
        # The learning_rate parameter is scikit-learn's for solver="sgd" only; "adaptive" divides
        # the rate by 5 while above 1e-6 where training would otherwise stop.
        if self.solver == "sgd" and self.learning_rate == "invscaling":
            return InverseScalingLR(power_t=self.power_t)
        if self.solver == "sgd" and self.learning_rate == "adaptive":
            return ReduceLROnPlateau(factor=0.2, min_lr=1e-6)
        return ConstantLR()

    def _fit(self, X, y, incremental, sample_weight=None):
        hidden = self._check_params()
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        first = not hasattr(self, "_fastbp_model") or not (self.warm_start or incremental)
        X, values, labels, n_outputs, y = self._validate_input(X, y, incremental, first)
        weights = self._sample_weights(sample_weight, y, X.shape[0], incremental)
        dtype = check.model_dtype(self.dtype) if self.dtype is not None else X.dtype.name
        layers = [X.shape[1], *hidden, n_outputs]
        # A fresh random state every call, as scikit-learn's.
        self._random_state = rng = check_random_state(self.random_state)
        if not first and self._model().layers != layers:
            raise ValueError(f"warm_start/partial_fit: the data needs layers {layers}, the "
                             f"fitted model has {self._model().layers}")
        if not first and self.dtype is not None and dtype != self._model().compute_dtype:
            raise ValueError(f"warm_start/partial_fit: dtype={self.dtype!r} asks for "
                             f"{dtype} products, the fitted model has "
                             f"{self._model().compute_dtype!r}; fit without warm_start to "
                             f"start again")
        if not first and self._model().output != self._out_activation():
            raise ValueError(f"warm_start/partial_fit: the parameters need a "
                             f"{self._out_activation()!r} output, the fitted model has "
                             f"{self._model().output!r} (was loss changed?); fit without "
                             f"warm_start to start again")
        if first:
            self._fastbp_model = MLP(layers, hidden=_ACTIVATIONS[self.activation],
                                     output=self._out_activation(), dtype=dtype, seed=0)
            self._initialise(rng)
            if incremental or self.warm_start:  # weights assigned before: start from them
                self._take_assigned_parameters(self._fastbp_model)
            else:  # a fresh fit starts from its own initialisation, as scikit-learn's
                self.__dict__.pop("_assigned_coefs", None)
                self.__dict__.pop("_assigned_intercepts", None)
            self._progress = _core.TrainingProgress()
            self.t_ = 0
        elif not incremental:
            # warm start: a new optimizer, as scikit-learn's, whose first epoch trains at
            # learning_rate_init (its stopping count and best value carry over)
            self._model().reset_optimizer()
            self._progress.learning_rate = float(self.learning_rate_init)
        if self.solver in _STOCHASTIC_SOLVERS and (first or not hasattr(self, "loss_curve_")):
            # (a warm start after lbfgs, which keeps no curve, starts one)
            self.loss_curve_ = []
            if self.early_stopping:
                self.best_loss_ = None
                self.validation_scores_, self.best_validation_score_ = [], -np.inf
            else:
                self.best_loss_ = np.inf
                self.validation_scores_, self.best_validation_score_ = None, None
        self.n_iter_ = 0
        self.out_activation_ = _OUT_ACTIVATIONS[self._model().output]
        self.n_layers_ = len(layers)
        self.n_outputs_ = n_outputs
        model = self._model()
        X = _samples(X, model.dtype)
        if values is not None:
            values = np.ascontiguousarray(values, dtype=model.dtype)
        if weights is not None:
            weights = np.ascontiguousarray(weights, dtype=model.dtype)
        if self.solver == "lbfgs":
            return self._fit_lbfgs(model, X, values, labels, weights)

        X_val = val_values = val_labels = val_weights = None
        if self.early_stopping:
            # scikit-learn stratifies on the binarised target (as bools) when it has one column
            stratify = values.astype(bool) if is_classifier(self) and n_outputs == 1 else None
            kept, held = train_test_split(np.arange(X.shape[0]), random_state=rng,
                                          test_size=self.validation_fraction, stratify=stratify)
            if held.shape[0] < 2:
                raise ValueError("The validation set is too small. Increase "
                                 "'validation_fraction' or the size of your dataset.")
            X, X_val = X[kept], X[held]
            if values is not None:
                values, val_values = values[kept], values[held]
            else:
                labels, val_labels = labels[kept], labels[held]
            if weights is not None:  # (the split ignores the weights, as scikit-learn's)
                weights, val_weights = weights[kept], weights[held]
            if self.validation_scores_ is None:
                self.validation_scores_, self.best_validation_score_ = [], -np.inf

        n = X.shape[0]
        if self.solver == "rprop":
            batch = n
        elif self.batch_size == "auto":
            batch = min(200, n)
        else:
            if self.batch_size > n:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is "
                              "going to be clipped", stacklevel=3)
            batch = min(self.batch_size, n)

        options = _core.FitOptions()
        options.epochs = 1 if incremental else int(self.max_iter)
        options.batch_size = batch
        options.optimizer = self._make_optimizer()._core
        options.schedule = self._schedule()._core
        options.shuffle = bool(self.shuffle)
        options.seed = int(rng.randint(np.iinfo(np.int32).max))
        options.stopping = "sklearn"
        options.patience = (np.iinfo(np.int32).max if self.n_iter_no_change == np.inf
                            else int(self.n_iter_no_change))
        options.tol = float(self.tol)
        options.monitor = (self._validation_monitor if self.early_stopping else "training_loss")
        options.restore_best = bool(self.early_stopping)
        options.l2 = float(self.alpha)
        options.loss_scale = self._loss_scale()
        options.stop_on_divergence = False

        logs = []

        def on_epoch(log):
            logs.append(log)
            if self.verbose:
                if len(logs) > 1 and log["learning_rate"] != logs[-2]["learning_rate"]:
                    print(f"Setting learning rate to {log['learning_rate']:f}")
                print(f"Iteration {self.n_iter_ + len(logs)}, loss = {log['loss']:.8f}")
                if self.early_stopping:
                    print(f"Validation score: {log['val_score']:f}")

        try:
            model._net.fit(X, values, labels, options, X_val, val_values, val_labels, on_epoch,
                           self._progress, weights, val_weights)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=3)
        self.n_iter_ = len(logs)
        self.t_ += n * len(logs)
        self.loss_curve_ += [log["loss"] for log in logs]
        if logs:
            self.loss_ = logs[-1]["loss"]
        if self.early_stopping:
            self.validation_scores_ += [log["val_score"] for log in logs]
            if self._progress.has_best:
                self.best_validation_score_ = -self._progress.best
        elif self._progress.has_best:
            self.best_loss_ = self._progress.best
        # scikit-learn's private state, which users inspect: the stopping count, and the rate
        # the next epoch would train with
        self._no_improvement_count = self._progress.epochs_without_improvement
        rate = self._progress.learning_rate
        self._optimizer = types.SimpleNamespace(
            learning_rate=rate if rate >= 0 else float(self.learning_rate_init))
        if self._progress.converged and self.verbose:
            what = "Validation score" if self.early_stopping else "Training loss"
            print(f"{what} did not improve more than tol={self.tol:f} for "
                  f"{self.n_iter_no_change} consecutive epochs. Stopping.")
        if not incremental and len(logs) == self.max_iter and not self._progress.converged:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                          f"reached and the optimization hasn't converged yet.",
                          ConvergenceWarning, stacklevel=3)
        self._check_finite(model)
        return self

    def _loss_scale(self):
        # scikit-learn reports the squared error averaged over the outputs (its Poisson loss
        # is summed over them, like fastbp's)
        if is_classifier(self) or getattr(self, "loss", None) == "poisson":
            return 1.0
        return 1.0 / self.n_outputs_

    def _fit_lbfgs(self, model, X, values, labels, weights):
        """scikit-learn's lbfgs: scipy's L-BFGS-B over the packed parameters, up to max_iter
        iterations and max_fun evaluations, gtol = tol."""
        iteration = 0

        def report(loss):
            nonlocal iteration
            iteration += 1
            print(f"Iteration {iteration}, loss = {loss:.8f}")

        result = lbfgs.minimize(model._net, X, values, labels, max_iter=int(self.max_iter),
                                max_fun=int(self.max_fun), tol=float(self.tol),
                                l2=float(self.alpha), loss_scale=self._loss_scale(),
                                callback=report if self.verbose else None,
                                sample_weight=weights)
        self.n_iter_ = min(int(result.nit), int(self.max_iter))
        self.loss_ = float(result.fun)
        if result.status != 0:
            message = (f"lbfgs failed to converge after {self.n_iter_} iteration(s) "
                       f"(status={result.status}):\n{result.message}\n")
            if self.n_iter_ == self.max_iter:
                message += (f"\nIncrease the number of iterations to improve the convergence "
                            f"(max_iter={self.max_iter}).")
            message += ("\nYou might also want to scale the data as shown in:\n"
                        "    https://scikit-learn.org/stable/modules/preprocessing.html")
            warnings.warn(message, ConvergenceWarning, stacklevel=3)
        self._check_finite(model)
        return self

    def _loss_grad_lbfgs(self, packed_coef_inter, X, y, sample_weight=None, *_buffers):
        """scikit-learn's objective for lbfgs at the packed parameters (every coefs_ raveled,
        then every intercepts_), as (loss, gradient); y binarised as the model's targets. The
        model takes the parameters. The trailing buffers of scikit-learn's signature are not
        needed."""
        model = self._model()
        X = _samples(X, model.dtype)
        y = np.ascontiguousarray(np.asarray(y).reshape(X.shape[0], -1), dtype=model.dtype)
        if sample_weight is not None:
            sample_weight = np.ascontiguousarray(sample_weight, dtype=model.dtype)
        return model._net.loss_and_gradient(np.ascontiguousarray(packed_coef_inter,
                                                                 dtype=np.float64),
                                            X, y, None, float(self.alpha), self._loss_scale(),
                                            sample_weight)

    @staticmethod
    def _check_finite(model):
        if not all(np.isfinite(w).all() for w in model.weights + model.biases):
            raise ValueError("Solver produced non-finite parameter weights. The input data may "
                             "contain large values and need to be preprocessed.")

    def _check_solver(self):
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                                 f"{self.solver} is not stochastic.")
        return True

    def _sample_weights(self, sample_weight, y, n, incremental):
        """The weights training uses: sample_weight (checked), times the classifier's
        class_weight; None when neither is given."""
        if isinstance(sample_weight, numbers.Real) and not isinstance(sample_weight, bool):
            sample_weight = np.full(n, float(sample_weight))  # scikit-learn broadcasts it
        weights = check.sample_weights("sample_weight", sample_weight, n, np.float64)
        class_weight = getattr(self, "class_weight", None)
        if class_weight is None:
            return weights
        if incremental and isinstance(class_weight, str):
            raise ValueError("class_weight='balanced' is not supported by partial_fit: the "
                             "classes' frequencies of one call are not those of the data set; "
                             "give a dict of weights instead")
        from sklearn.utils.class_weight import compute_sample_weight
        per_class = compute_sample_weight(class_weight, y)
        return per_class if weights is None else weights * per_class

    def fit(self, X: npt.ArrayLike, y: npt.ArrayLike,
            sample_weight: npt.ArrayLike | None = None) -> "_BaseMLP":
        """Trains on (X, y) for up to ``max_iter`` epochs; returns self.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), optional
            Weights >= 0: each batch descends the weighted mean loss, and the validation
            score of early stopping is weighted, as in scikit-learn.
        """
        return self._fit(X, y, incremental=False, sample_weight=sample_weight)

    def _predict_raw(self, X):
        check_is_fitted(self, "n_iter_")
        X = validate_data(self, X, dtype=(np.float64, np.float32), accept_sparse=_SPARSE_FORMATS,
                          reset=False)
        return self._model().predict(_samples(X, self._model().dtype))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


# Sparse X of these formats is taken as it is: CSR used as it is, the others converted to it.
_SPARSE_FORMATS = ("csr", "csc", "coo")


def _samples(X, dtype):
    """Validated X as the core reads it: a C-contiguous array of `dtype`, or sparse rows (a
    real sparse first layer, never densified)."""
    if check.is_sparse(X):
        return check.sparse_rows("X", X, dtype)
    return np.ascontiguousarray(X, dtype=dtype)


def _shared(arguments: dict) -> dict:
    """The arguments of _BaseMLP.__init__, picked from a subclass's own __init__ (whose full
    signature scikit-learn reads)."""
    names = list(inspect.signature(_BaseMLP.__init__).parameters)[1:]
    return {name: arguments[name] for name in names}


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multilayer perceptron classifier, scikit-learn's `MLPClassifier` trained by fastbp.

    Softmax output with cross-entropy for several classes; a logistic output for two classes
    and for multi-label targets (an indicator matrix). Parameters and attributes are those of
    ``sklearn.neural_network.MLPClassifier`` (see the module docstring for the differences),
    plus ``class_weight``: None, "balanced" (weights inversely proportional to the classes'
    frequencies in y) or a dict {class: weight}; it multiplies ``sample_weight``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from fastbp.sklearn import MLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(64,), learning_rate_init=0.01, random_state=0)
    >>> clf.fit(X[:1500] / 16, y[:1500]).score(X[1500:] / 16, y[1500:]) > 0.9
    True
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 class_weight=None, dtype=None):
        # scikit-learn reads the parameters from this signature: the classifier's own adds
        # class_weight to the shared ones
        super().__init__(**_shared(locals()))
        self.class_weight = class_weight

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, multi_output=True, dtype=(np.float64, np.float32),
                             accept_sparse=_SPARSE_FORMATS, reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if reset and not incremental:
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start and not incremental:
                if set(classes) != set(self.classes_):
                    raise ValueError(f"warm_start can only be used where `y` has the same "
                                     f"classes as in the previous call to fit. Previously got "
                                     f"{self.classes_}, `y` has {classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has "
                                 f"{self.classes_}. 'y' has {classes}.")
        self._multilabel = self._label_binarizer.y_type_.startswith("multilabel")
        indicator = self._label_binarizer.transform(y)
        if self._multilabel or len(self.classes_) <= 2:
            return X, indicator.astype(X.dtype), None, indicator.shape[1], y
        labels = np.ascontiguousarray(indicator.argmax(axis=1), dtype=np.int64)
        return X, None, labels, indicator.shape[1], y

    def _out_activation(self):
        if self._multilabel or len(self.classes_) <= 2:
            return "sigmoid"
        return "softmax"

    @available_if(lambda estimator: estimator._check_solver())
    def partial_fit(self, X: npt.ArrayLike, y: npt.ArrayLike,
                    sample_weight: npt.ArrayLike | None = None,
                    classes: npt.ArrayLike | None = None) -> "MLPClassifier":
        """One epoch over (X, y), continuing from the current weights.

        ``classes`` (all classes that will ever appear) is required on the first call.
        """
        first = not hasattr(self, "_fastbp_model")
        if first:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
            self.classes_ = self._label_binarizer.classes_
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"`classes={np.asarray(classes).tolist()}` is not the same as on "
                             f"the first call "
                             f"to partial_fit ({list(self.classes_)})")
        return self._fit(X, y, incremental=True, sample_weight=sample_weight)

    def predict(self, X: npt.ArrayLike) -> np.ndarray:
        """Predicted class labels (or a label-indicator matrix for multi-label targets)."""
        probabilities = self._predict_raw(X)
        if self.n_outputs_ == 1:
            probabilities = probabilities.ravel()
        return self._label_binarizer.inverse_transform(probabilities)

    def predict_proba(self, X: npt.ArrayLike) -> np.ndarray:
        """Class probabilities, (n_samples, n_classes); columns follow ``classes_``."""
        y = self._predict_raw(X)
        if self.n_outputs_ == 1 and not self._multilabel:
            y = y.ravel()
            return np.column_stack([1 - y, y])
        return y

    def predict_log_proba(self, X: npt.ArrayLike) -> np.ndarray:
        """Logarithm of `predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def to_onnx(self, path: str | os.PathLike | None = None) -> Any:
        """The fitted classifier as an ONNX model: input ``X`` (N x n_features, the model's
        dtype), outputs ``label`` (what `predict` returns) and ``probabilities`` (what
        `predict_proba` returns). Written to `path` when given; returns the
        ``onnx.ModelProto``. Needs the ``onnx`` package (``pip install fastbp[onnx]``)."""
        check_is_fitted(self, "n_iter_")
        from .onnx_export import classifier_to_onnx
        return classifier_to_onnx(self, self._model(), self._multilabel, path)

    _validation_monitor = "validation_accuracy"  # scikit-learn's accuracy_score

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multilayer perceptron regressor, scikit-learn's `MLPRegressor` trained by fastbp.

    ``loss="squared_error"``: identity output with squared error (``((y - p) ** 2).mean() /
    2`` as scikit-learn reports it); ``loss="poisson"``: exp output (the log link) with half
    the Poisson deviance, for counts and rates (y >= 0). Several outputs when y is 2-D.

    Examples
    --------
    >>> import numpy as np
    >>> from fastbp.sklearn import MLPRegressor
    >>> X = np.linspace(-1, 1, 200).reshape(-1, 1)
    >>> reg = MLPRegressor(hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=2000,
    ...                    random_state=0)
    >>> reg.fit(X, X.ravel() ** 2).score(X, X.ravel() ** 2) > 0.9
    True
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, loss="squared_error",
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 dtype=None):
        # scikit-learn reads the parameters from this signature: the regressor's own adds
        # loss to the shared ones
        super().__init__(**_shared(locals()))
        self.loss = loss

    def _validate_input(self, X, y, incremental, reset):
        check.choice("loss", self.loss, ("squared_error", "poisson"))
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True,
                             dtype=(np.float64, np.float32), accept_sparse=_SPARSE_FORMATS,
                             reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError("Some value(s) of y are negative which is not allowed for Poisson "
                             "regression.")
        self._y_was_1d = y.ndim == 1
        targets = y.reshape(len(y), -1)
        return X, targets, None, targets.shape[1], y

    def _out_activation(self):
        return "exp" if self.loss == "poisson" else "identity"

    @available_if(lambda estimator: estimator._check_solver())
    def partial_fit(self, X: npt.ArrayLike, y: npt.ArrayLike,
                    sample_weight: npt.ArrayLike | None = None) -> "MLPRegressor":
        """One epoch over (X, y), continuing from the current weights."""
        return self._fit(X, y, incremental=True, sample_weight=sample_weight)

    def predict(self, X: npt.ArrayLike) -> np.ndarray:
        """Predicted values, (n_samples,) or (n_samples, n_outputs) like the y of fit."""
        y = self._predict_raw(X)
        return y.ravel() if self.n_outputs_ == 1 else y

    def to_onnx(self, path: str | os.PathLike | None = None) -> Any:
        """The fitted regressor as an ONNX model: input ``X`` (N x n_features, the model's
        dtype), output ``variable`` (what `predict` returns). Written to `path` when given;
        returns the ``onnx.ModelProto``. Needs the ``onnx`` package (``pip install
        fastbp[onnx]``)."""
        check_is_fitted(self, "n_iter_")
        from .onnx_export import regressor_to_onnx
        return regressor_to_onnx(self, self._model(), path)

    _validation_monitor = "validation_r2"  # scikit-learn's r2_score, NaN for non-finite output
