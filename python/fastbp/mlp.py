"""The MLP: a thin Python face over the compiled network (fastbp._core.Network32/64)."""

from __future__ import annotations

import math
import os
import time
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import numpy.typing as npt

from . import _core, _files, distributed, lbfgs, losses, optimizers, schedules
from . import _validation as check
from .history import History
from .lbfgs import LBFGS
from .progress import EpochProgress


_NO_RATE = object()


def samples(X, dtype: np.dtype, n_in: int, name: str = "X") -> np.ndarray | check.SparseRows:
    """X as the core takes it: a C-contiguous array, or a scipy.sparse matrix's rows."""
    ready = check.ready_matrix(X, dtype, n_in)
    if ready is not None:
        return ready
    if check.is_sparse(X) or isinstance(X, check.SparseRows):
        return check.sparse_rows(name, X, dtype, n_cols=n_in)
    return check.matrix(name, X, dtype, n_cols=n_in)


class MLP:
    """A multilayer perceptron trained by backpropagation in fused C++ kernels.

    How to use it: build one with the layer sizes, train it with `fit` on a 2-D array of
    inputs ``X`` (one sample per row) and targets ``T`` (a matrix, or integer class labels for
    a softmax output), then call `predict`. `fit` takes an optimizer (`fastbp.SGD`, `Adam`,
    `AdamW`, `RProp`), a learning-rate schedule, validation data and early stopping, and
    returns a `History`. `save`/`load` keep a trained model; `to_torch` hands it to PyTorch.
    Every method that takes ``X`` also takes a scipy.sparse matrix or array (CSR as it is,
    other formats converted): the first layer then gathers the rows of ``W[0]`` the
    nonzeros select instead of multiplying by zeros, with the dense input's results.
    For scikit-learn pipelines use `fastbp.sklearn.MLPClassifier`/`MLPRegressor` instead.

    Parameters
    ----------
    layers : sequence of int
        ``[n_in, h1, ..., n_out]``; at least two sizes, each >= 1.
    hidden : str
        Activation of the hidden layers: identity, relu, leaky_relu (slope 0.01), sigmoid
        (or logistic), tanh, elu (alpha 1), softplus, silu, gelu (exact, erf) or gelu_tanh
        (PyTorch's approximate="tanh").
    output : str
        Activation of the output layer: any of the above, softmax, or exp (the inverse of the
        log link, for counts and rates).
    loss : str or fastbp.losses.Huber, optional
        mse, softmax_ce, bce, huber (delta 1; `fastbp.losses.Huber` for another delta) or
        poisson (half the Poisson deviance, exp output, targets >= 0); defaults from the
        output (softmax -> softmax_ce, sigmoid -> bce, exp -> poisson, otherwise mse).
    dtype : {"float32", "float64", "bfloat16"}
        "bfloat16" multiplies matrices with operands rounded to bfloat16 and float32
        accumulation (the operands of PyTorch's CPU autocast, whose results are rounded too:
        see `to_torch`); parameters, optimizer state, inputs and
        outputs stay float32 (``model.dtype`` is float32, ``model.compute_dtype`` says
        "bfloat16"). Such a model takes dense X only.
    seed : int, optional
        Seeds the Glorot/He initialisation; the same seed gives the same weights.

    Examples
    --------
    >>> import numpy as np, fastbp
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    >>> y = np.array([[0], [1], [1], [0]], dtype=np.float32)
    >>> net = fastbp.MLP([2, 8, 1], hidden="tanh", output="sigmoid", seed=0)
    >>> history = net.fit(X, y, epochs=2000, batch_size=4, lr=0.5)
    >>> bool(history.loss[-1] < 0.05)
    True
    >>> net.predict(X).round().ravel()
    array([0., 1., 1., 0.], dtype=float32)
    """

    def __init__(self, layers: Sequence[int], hidden: str = "relu", output: str = "identity",
                 loss: str | losses.Huber | None = None, dtype: npt.DTypeLike = "float32",
                 seed: int | None = None) -> None:
        if isinstance(layers, (str, bytes)) or not hasattr(layers, "__len__"):
            raise TypeError(f"layers: expected a sequence of ints [n_in, ..., n_out], "
                            f"got {type(layers).__name__}")
        sizes = [check.integer(f"layers[{i}]", v, minimum=1) for i, v in enumerate(layers)]
        if len(sizes) < 2:
            raise ValueError(f"layers: expected at least 2 sizes [n_in, ..., n_out], "
                             f"got {len(sizes)}")
        hidden = check.activation("hidden", hidden, check.ACTIVATIONS)
        output = check.activation("output", output, check.OUTPUTS)
        loss_name, huber_delta = losses.resolve(loss, output)
        self._compute_dtype = check.model_dtype(dtype)
        self._dtype = np.dtype(np.float64 if self._compute_dtype == "float64" else np.float32)
        core_class = _core.Network32 if self._dtype == np.float32 else _core.Network64
        precision = "bfloat16" if self._compute_dtype == "bfloat16" else "native"
        self._net = core_class(sizes, hidden, output, loss_name, check.seed("seed", seed),
                               huber_delta, precision)
        self._n_in, self._n_out = sizes[0], sizes[-1]
        # train_step's last (lr, momentum, SGD); the marker matches no rate, not even None
        self._shorthand: tuple = (_NO_RATE, _NO_RATE, None)
        self._bind_views()

    def _bind_views(self):
        self._weights, self._biases = self._split(self._net.parameters())

    # -- architecture ---------------------------------------------------------------------
    @property
    def layers(self) -> list[int]:
        return list(self._net.layers)

    @property
    def dtype(self) -> np.dtype:
        """The dtype of the parameters and of the arrays the model takes and returns."""
        return self._dtype

    @property
    def compute_dtype(self) -> str:
        """The dtype the matrix products' operands have: "float32", "float64" or "bfloat16"."""
        return self._compute_dtype

    @property
    def hidden(self) -> str:
        return self._net.hidden

    @property
    def output(self) -> str:
        return self._net.output

    @property
    def loss_name(self) -> str:
        return self._net.loss_name

    @property
    def huber_delta(self) -> float:
        """Huber's delta (1.0 unless the model was made with `fastbp.losses.Huber`)."""
        return self._net.huber_delta

    def _loss(self) -> str | losses.Huber:
        return losses.Huber(self.huber_delta) if self.loss_name == "huber" else self.loss_name

    @property
    def weights(self) -> list[np.ndarray]:
        """``W[l]`` of shape ``(layers[l], layers[l+1])``: live views, writing them changes the model."""
        return list(self._weights)

    @property
    def biases(self) -> list[np.ndarray]:
        """``b[l]`` of shape ``(layers[l+1],)``: live views."""
        return list(self._biases)

    def _architecture(self) -> dict:
        """Everything that rebuilds this model but its parameters: its pickled state without
        them (`Predictor` pickles its snapshot's parameters with this)."""
        return {"layers": list(self.layers), "hidden": self.hidden, "output": self.output,
                "loss": self.loss_name, "huber_delta": self.huber_delta,
                "dtype": self.compute_dtype}

    def __getstate__(self) -> dict:
        """Architecture and parameters (pickle, copy.deepcopy); optimizer state is not kept."""
        return {**self._architecture(), "parameters": self._net.parameters().copy()}

    def __setstate__(self, state: dict) -> None:
        keys = {"layers", "hidden", "output", "loss", "dtype", "parameters"}
        if not isinstance(state, dict) or not keys <= state.keys():
            given = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"MLP state: expected a dict with keys {sorted(keys)}, got {given}")
        loss = state["loss"]
        if loss == "huber":
            loss = losses.Huber(state.get("huber_delta", 1.0))
        fresh = MLP(state["layers"], hidden=state["hidden"], output=state["output"],
                    loss=loss, dtype=state["dtype"], seed=0)
        params = fresh._net.parameters()
        stored = np.asarray(state["parameters"])
        if stored.shape != params.shape or stored.dtype != params.dtype:
            raise ValueError(f"MLP state: parameters should be {params.dtype} {params.shape}, "
                             f"got {stored.dtype} {stored.shape}")
        params[...] = stored
        self.__dict__.update(fresh.__dict__)

    def __repr__(self) -> str:
        return (f"MLP(layers={self.layers}, hidden={self.hidden!r}, output={self.output!r}, "
                f"loss={self._loss()!r}, dtype={self.compute_dtype!r})")

    # -- inputs ---------------------------------------------------------------------------
    def _X(self, X, name="X") -> np.ndarray | check.SparseRows:
        return samples(X, self._dtype, self._n_in, name)

    def _T(self, T, n, name="T") -> tuple[np.ndarray | None, np.ndarray | None]:
        loss = self._net.loss_name
        ready = check.ready_targets(T, n, self._n_out, loss, self._dtype)
        return ready if ready is not None else check.targets(name, T, n, self._n_out, loss,
                                                             self._dtype)

    # -- computation ----------------------------------------------------------------------
    def predict(self, X: npt.ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
        """Network outputs for X of shape ``(n, n_in)``, as ``(n, n_out)`` in the model's dtype.

        With ``out`` (a C-contiguous ``(n, n_out)`` array of the model's dtype) the outputs
        are written there and ``out`` is returned: a serving loop allocates nothing per call.
        Safe to call from several threads at once; a call made while the model trains waits
        for the training call to finish.

        Examples
        --------
        >>> import numpy as np, fastbp
        >>> net = fastbp.MLP([3, 4, 2], output="softmax", seed=0)
        >>> net.predict(np.ones((5, 3))).sum(axis=1).round(5)
        array([1., 1., 1., 1., 1.], dtype=float32)
        >>> out = np.empty((5, 2), dtype=np.float32)
        >>> net.predict(np.ones((5, 3)), out=out) is out
        True
        """
        ready = self._net.ready_predict(X, out)  # arrays the core reads as they are
        return ready if ready is not None else self._net.predict(self._X(X), out)

    def _W(self, sample_weight, n, name="sample_weight"):
        return check.sample_weights(name, sample_weight, n, self._dtype)

    def loss(self, X: npt.ArrayLike, T: npt.ArrayLike,
             sample_weight: npt.ArrayLike | None = None) -> float:
        """Mean loss over the samples of X with targets T (with `sample_weight`, the weighted
        mean ``sum w_i L_i / sum w_i``).

        Examples
        --------
        >>> import numpy as np, fastbp
        >>> net = fastbp.MLP([2, 3], output="identity", seed=0)
        >>> net.loss(np.zeros((4, 2)), np.ones((4, 3)))  # 0.5 * sum of squares, mean over rows
        1.5
        """
        if sample_weight is None:
            ready = self._net.ready_loss(X, T)
            if ready is not None:
                return ready
        x = self._X(X)
        return float(self._net.loss(x, *self._T(T, x.shape[0]),
                                    self._W(sample_weight, x.shape[0])))

    def gradients(self, X: npt.ArrayLike, T: npt.ArrayLike,
                  sample_weight: npt.ArrayLike | None = None
                  ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """``(dW_list, db_list)``: the gradient of the mean loss (weighted by `sample_weight`
        when given); the model is not changed.

        Examples
        --------
        >>> import numpy as np, fastbp
        >>> net = fastbp.MLP([2, 5, 1], seed=0)
        >>> dW, db = net.gradients(np.ones((3, 2)), np.zeros((3, 1)))
        >>> [g.shape for g in dW], [g.shape for g in db]
        ([(2, 5), (5, 1)], [(5,), (1,)])
        """
        ready = self._net.ready_gradients(X, T) if sample_weight is None else None
        if ready is not None:
            return ready
        x = self._X(X)
        flat, _ = self._net.gradients(x, *self._T(T, x.shape[0]),
                                      self._W(sample_weight, x.shape[0]))
        return self._split(flat)

    def _split(self, flat):
        """Per-layer (W, b) views into a flat array laid out like the parameters."""
        return self._net.layer_views(flat)

    def train_step(self, X: npt.ArrayLike, T: npt.ArrayLike, lr: float | None = None,
                   momentum: float | None = None,
                   optimizer: optimizers.Optimizer | str | None = None,
                   sample_weight: npt.ArrayLike | None = None) -> float:
        """One training step on the batch (X, T); returns the batch loss before the update
        (with `sample_weight`, the step descends the weighted mean loss, and returns it).

        ``lr``/``momentum`` are the shorthand for ``optimizer=fastbp.SGD(lr, momentum)``
        (default lr 0.01). A NaN or infinite loss raises `fastbp.DivergenceError` and leaves
        the model unchanged.

        Examples
        --------
        >>> import numpy as np, fastbp
        >>> net = fastbp.MLP([2, 4, 1], seed=0)
        >>> X, y = np.ones((3, 2), np.float32), np.zeros((3, 1), np.float32)
        >>> first = net.train_step(X, y, optimizer=fastbp.Adam(lr=0.01))
        >>> net.train_step(X, y, optimizer=fastbp.Adam(lr=0.01)) < first
        True
        """
        # A loop calling with the same rate reuses the SGD settings of the last call.
        last_lr, last_momentum, chosen = self._shorthand
        if not (optimizer is None and (lr is None or lr.__class__ is float)
                and (momentum is None or momentum.__class__ is float)
                and lr == last_lr and momentum == last_momentum):
            chosen = optimizers.resolve(optimizer, lr, momentum)
            if optimizer is None:
                self._shorthand = (lr, momentum, chosen)
        if sample_weight is None:
            ready = self._net.ready_train_step(X, T, chosen._core)  # type: ignore[union-attr]
            if ready is not None:
                return ready
        x = self._X(X)
        return float(self._net.train_step(x, *self._T(T, x.shape[0]),
                                          chosen._core,  # type: ignore[union-attr]
                                          self._W(sample_weight, x.shape[0])))

    def reset_optimizer(self) -> None:
        """Forgets the optimizer state (velocity, Adam moments, RProp step sizes).

        Examples
        --------
        >>> import fastbp
        >>> fastbp.MLP([2, 1]).reset_optimizer()
        """
        self._net.reset_optimizer()

    def fit(self, X: npt.ArrayLike, T: npt.ArrayLike, epochs: int = 10,
            batch_size: int | None = None, lr: float | None = None,
            momentum: float | None = None,
            optimizer: optimizers.Optimizer | str | None = None,
            lr_schedule: schedules.Schedule | str | None = None, shuffle: bool = True,
            seed: int | None = None,
            validation_data: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
            validation_split: float = 0.0, patience: int | None = None, tol: float = 1e-4,
            restore_best_weights: bool = True, verbose: bool = False,
            callbacks: Iterable[Callable[[dict], bool | None]] | None = None,
            sample_weight: npt.ArrayLike | None = None, comm: Any = None,
            shard: str = "global",
            sync: str | distributed.LocalSGD = "gradients") -> History:
        """Trains on (X, T) in mini-batches; the whole loop runs in C++ with the GIL released.

        Parameters
        ----------
        X : array of shape (n, n_in)
        T : targets, (n, n_out) values, or (n,) integer class labels for a softmax output
        epochs : int
        batch_size : int, optional
            32 by default (the whole data set for `RProp`). A partial last batch is trained.
        lr, momentum : float, optional
            Shorthand for ``optimizer=fastbp.SGD(lr=lr, momentum=momentum)`` (lr 0.01).
        optimizer : fastbp.SGD | Adam | AdamW | RProp | Lion | LBFGS | str, optional
            `fastbp.LBFGS` trains on the whole data set (scipy's L-BFGS-B): ``epochs`` is then
            its number of iterations, and batch_size, lr, momentum and lr_schedule are not
            given.
        lr_schedule : fastbp.ConstantLR | InverseScalingLR | StepLR | ExponentialLR |
            ReduceLROnPlateau | str, optional
        shuffle : bool
            A new permutation every epoch (drawn from ``seed``).
        seed : int, optional
            Makes shuffling and ``validation_split`` reproducible.
        validation_data : (X_val, T_val) or (X_val, T_val, sample_weight_val), optional
            Evaluated after every epoch (loss, and accuracy for softmax/sigmoid outputs;
            weighted when the tuple has weights).
        validation_split : float
            Instead of ``validation_data``: this fraction of (X, T), drawn at random, is held
            out for validation and not trained on.
        patience : int, optional
            Early stopping: stop once the monitored loss (validation loss if there is
            validation data, else training loss) has not improved by more than ``tol`` for
            ``patience`` epochs; with ``restore_best_weights`` the best epoch's weights are
            put back.
        verbose : bool
            A progress bar (tqdm when installed, else one line per epoch).
        callbacks : list of callables
            Each is called after every epoch with that epoch's figures (a dict: epoch, loss,
            val_loss, val_accuracy, learning_rate, seconds); returning False stops training.
        sample_weight : array of shape (n,), optional
            Weights >= 0 of the samples: each batch descends ``sum w_i L_i / sum w_i`` over
            its rows (an integer weight k trains like k copies of the row in one batch);
            ``validation_split`` holds out the weights with their rows.
        comm : mpi4py communicator, optional
            Trains one model with every process of ``comm`` (data parallel over MPI; see
            :mod:`fastbp.distributed`): every process calls ``fit`` with the same arguments,
            the parameters of process 0 are broadcast first, ``batch_size`` is per process, and
            the history, early stopping and divergence come out the same everywhere. Only
            process 0 shows progress.
        shard : {"global", "local"}
            With ``comm``: "global" when every process passes the whole data set (a memory map
            is fine; the same ``seed`` gives the steps of one process with ``batch_size`` times
            the number of processes); "local" when each passes its own part (processes that
            run out of batches join the remaining steps with no rows).
        sync : "gradients" or fastbp.distributed.LocalSGD
            With ``comm``: sum the gradients every step, or average the replicas every
            ``LocalSGD.every`` fused steps.

        Returns
        -------
        History

        Raises
        ------
        fastbp.DivergenceError
            A batch loss became NaN or infinite (its ``epoch`` and ``batch`` say where); the
            model keeps finite weights and the error's ``history`` holds the finished epochs.
        KeyboardInterrupt
            Ctrl-C stops training between mini-batches; the model is left consistent and the
            exception's ``history`` holds the finished epochs (as for any error raised here).

        Examples
        --------
        >>> import numpy as np, fastbp
        >>> from sklearn.datasets import load_iris
        >>> X, y = load_iris(return_X_y=True)
        >>> X = (X - X.mean(0)) / X.std(0)
        >>> net = fastbp.MLP([4, 16, 3], output="softmax", seed=0)
        >>> history = net.fit(X, y, epochs=200, optimizer=fastbp.Adam(lr=0.01),
        ...                   validation_split=0.2, patience=20, seed=0)
        >>> bool(history.val_accuracy[history.best_epoch - 1] > 0.85)
        True
        """
        if comm is not None:
            if isinstance(optimizer, LBFGS):
                raise ValueError("comm: fastbp.LBFGS trains in one process; use a first-order "
                                 "optimizer to train over MPI")
            # The first collective, before anything can fail on one process only.
            seed = distributed.common_seed(comm, seed)
        try:
            x = self._X(X)
            values, labels = self._T(T, x.shape[0])
            weights = self._W(sample_weight, x.shape[0])
            epochs = check.integer("epochs", epochs, minimum=0)
            if comm is None and (shard != "global" or sync != "gradients"):
                raise ValueError("shard, sync: these set how processes train together; give "
                                 "comm (an mpi4py communicator) too")
            if isinstance(optimizer, LBFGS):
                full_batch = _full_batch_arguments(lr, momentum, lr_schedule, batch_size)
                if full_batch:
                    raise ValueError(f"{full_batch}: fastbp.LBFGS trains on the whole data set with "
                                     f"a line search; leave {full_batch} out")
                chosen: optimizers.Optimizer | LBFGS = optimizer
            else:
                chosen = optimizers.resolve(optimizer, lr, momentum)
                schedule = schedules.resolve(lr_schedule)
                if batch_size is None:
                    batch_size = x.shape[0] if isinstance(chosen, optimizers.RProp) else 32
                batch_size = check.integer("batch_size", batch_size, minimum=1)
            shuffle = check.boolean("shuffle", shuffle)
            seed = check.seed("seed", seed)
            validation_split = check.real("validation_split", validation_split, low=0, high=1,
                                          high_open=True)
            if patience is not None:
                patience = check.integer("patience", patience, minimum=1)
            tol = check.real("tol", tol, low=0)
            restore_best_weights = check.boolean("restore_best_weights", restore_best_weights)
            if not isinstance(verbose, (bool, np.bool_, int)):
                raise TypeError(f"verbose: expected a bool, got {type(verbose).__name__}")
            callbacks = list(callbacks or [])
            for c in callbacks:
                if not callable(c):
                    raise TypeError(f"callbacks: expected callables, got {type(c).__name__}")

            X_val = val_values = val_labels = val_weights = None
            if validation_data is not None:
                if validation_split:
                    raise ValueError("validation_split: give either validation_data or "
                                     "validation_split, not both")
                if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2,
                                                                                                3):
                    raise TypeError("validation_data: expected a tuple (X_val, T_val) or (X_val, "
                                    "T_val, sample_weight_val)")
                X_val = self._X(validation_data[0], "validation_data[0]")
                val_values, val_labels = self._T(validation_data[1], X_val.shape[0],
                                                 "validation_data[1]")
                if len(validation_data) == 3:
                    val_weights = self._W(validation_data[2], X_val.shape[0], "validation_data[2]")
            elif validation_split:
                n_val = int(round(validation_split * x.shape[0]))
                if n_val < 1 or n_val >= x.shape[0]:
                    raise ValueError(f"validation_split: {validation_split} of {x.shape[0]} samples "
                                     f"leaves {n_val} for validation and {x.shape[0] - n_val} for "
                                     f"training; both need at least one")
                order = np.random.default_rng(seed).permutation(x.shape[0])
                held, kept = order[:n_val], np.sort(order[n_val:])
                x, X_val = x[kept], x[held]
                if values is not None:
                    values, val_values = values[kept], values[held]
                elif labels is not None:
                    labels, val_labels = labels[kept], labels[held]
                if weights is not None:
                    weights, val_weights = weights[kept], weights[held]
                    for part, name in ((weights, "sample_weight (training part)"),
                                       (val_weights, "sample_weight (validation part)")):
                        if not part.sum() > 0:
                            raise ValueError(f"{name}: all the weights are zero after "
                                             f"validation_split")
        except Exception as error:
            if comm is not None:
                distributed.refuse(comm, error)  # the others raise too, none waits
            raise

        data_parallel = None
        if comm is not None:
            data_parallel = distributed.settings(comm, shard, sync, x.shape[0], batch_size, epochs,
                                                 X_val is not None, self.compute_dtype)
            distributed.broadcast_parameters(self, comm)
            verbose = verbose and data_parallel["rank"] == 0
        history = History(n_samples=x.shape[0])
        progress = EpochProgress(epochs, x.shape[0]) if verbose else None

        def on_epoch(log):
            history._append(log)
            if progress is not None:
                progress.update(log)
            keep_going = True
            for c in callbacks:
                if c(dict(log)) is False:
                    keep_going = False
            return keep_going

        try:
            if isinstance(chosen, LBFGS):
                self._fit_lbfgs(x, values, labels, weights, epochs, chosen, X_val, val_values,
                                val_labels, val_weights, patience, tol, restore_best_weights,
                                on_epoch)
            else:
                options = _core.FitOptions()
                options.epochs = epochs
                options.batch_size = batch_size
                options.optimizer = chosen._core  # type: ignore[union-attr]
                options.schedule = schedule._core  # type: ignore[union-attr]
                options.shuffle = shuffle
                options.seed = seed
                options.patience = patience or 0
                options.tol = tol
                options.restore_best = restore_best_weights
                self._net.fit(x, values, labels, options, X_val, val_values, val_labels,
                              on_epoch, None, weights, val_weights, data_parallel)
            if progress is not None:
                progress.finished(len(history))
        except BaseException as exc:
            # Divergence, Ctrl-C or a failing callback: the epochs that finished stay reachable.
            try:
                exc.history = history  # type: ignore[attr-defined]
            except AttributeError:
                pass
            raise
        finally:
            if progress is not None:
                progress.close()
        return history

    def _fit_lbfgs(self, x, values, labels, weights, iterations, settings, X_val, val_values,
                   val_labels, val_weights, patience, tol, restore_best_weights,
                   on_epoch) -> None:
        """fit with `fastbp.LBFGS`: scipy drives the iterations, each logged as an epoch, with
        the same validation figures and stopping rule as the compiled loop."""
        if iterations == 0:
            return
        net = self._net
        state: dict[str, Any] = {"epoch": 0, "best": math.inf, "stale": 0, "kept": None,
                                 "clock": time.perf_counter()}
        finite_start = net.flat_parameters()

        def after_iteration(loss):
            now = time.perf_counter()
            state["epoch"] += 1
            log = {"epoch": state["epoch"], "loss": loss, "learning_rate": math.nan,
                   "val_loss": math.nan, "val_accuracy": math.nan, "val_score": math.nan,
                   "seconds": now - state["clock"], "best": False}
            if X_val is not None:
                log["val_loss"] = net.loss(X_val, val_values, val_labels, val_weights)
                log["val_accuracy"] = self._accuracy(X_val, val_values, val_labels, val_weights)
            monitored = log["val_loss"] if X_val is not None else loss
            if monitored < state["best"] - tol:
                state["best"], state["stale"], log["best"] = monitored, 0, True
                if patience and restore_best_weights:
                    state["kept"] = net.flat_parameters()
            else:
                state["stale"] += 1
            keep_going = on_epoch(log) is not False
            state["clock"] = time.perf_counter()
            if not keep_going or (patience and state["stale"] >= patience):
                raise StopIteration

        # the objective divides l2 by the rows (or the weights' sum): undo it
        rows = float(weights.sum()) if weights is not None else x.shape[0]
        result = lbfgs.minimize(net, x, values, labels, max_iter=iterations,
                                max_fun=settings.max_fun, tol=settings.tol,
                                history_size=settings.history_size,
                                l2=settings.weight_decay * rows, callback=after_iteration,
                                sample_weight=weights)
        if not np.isfinite(result.fun) or not np.isfinite(result.x).all():
            net.set_flat_parameters(state["kept"] if state["kept"] is not None else finite_start)
            error = _core.DivergenceError(
                f"L-BFGS met a non-finite loss after {state['epoch']} iterations; the weights "
                f"were put back to finite ones. Scale the inputs, or add weight_decay.")
            error.epoch, error.batch = state["epoch"] + 1, 1
            raise error
        if state["kept"] is not None:
            net.set_flat_parameters(state["kept"])

    def _accuracy(self, X, values, labels, weights=None) -> float:
        """The share (by weight) predicted right: rows whose arg-max is the class for softmax,
        outputs on the right side of 0.5 for sigmoid; NaN for other outputs."""
        if self.output not in ("softmax", "sigmoid"):
            return math.nan
        y = self._net.predict(X)
        if self.output == "softmax":
            truth = labels if labels is not None else values.argmax(axis=1)
            right = y.argmax(axis=1) == truth
        else:  # each output on its own, as the compiled loop counts them
            right = ((y > 0.5) == (values > 0.5)).mean(axis=1)
        return float(np.average(right, weights=weights))

    # -- interop --------------------------------------------------------------------------
    def to_torch(self) -> Any:
        """A ``torch.nn.Sequential`` computing the same function (with this model's dtype).

        Linear layers hold ``W.T`` (PyTorch stores ``out x in``); a softmax output becomes
        ``nn.Softmax(dim=1)``. Needs PyTorch.

        A bfloat16 model gives a float32 module. Run it under ``torch.autocast("cpu",
        dtype=torch.bfloat16)`` for bfloat16 products: autocast rounds the same operands (inputs,
        weights) but also the bias and every product's result (layer outputs, and in training
        the deltas and weight gradients), which fastbp keeps in float32, so the two agree to
        bfloat16's precision, not bit for bit. `to_onnx` and `to_c` likewise
        write float32 graphs and code.

        Examples
        --------
        >>> import numpy as np, fastbp
        >>> net = fastbp.MLP([3, 5, 2], hidden="tanh", output="softmax", seed=0)
        >>> model = net.to_torch()                                   # doctest: +SKIP
        >>> x = np.ones((4, 3), np.float32)
        >>> np.allclose(model(torch.from_numpy(x)).detach().numpy(),
        ...             net.predict(x), atol=1e-6)                   # doctest: +SKIP
        True
        """
        from .interop import to_torch
        return to_torch(self)

    def to_onnx(self, path: str | os.PathLike | None = None) -> Any:
        """The network as an ONNX model (opset 20, this model's dtype): input ``X`` of shape
        (N, n_inputs), output ``Y``, what `predict` returns. Written to `path` when given;
        returns the ``onnx.ModelProto``. Needs the ``onnx`` package (``pip install
        fastbp[onnx]``); ``onnxruntime.InferenceSession(path)`` runs it.

        Examples
        --------
        >>> import numpy as np, fastbp
        >>> net = fastbp.MLP([3, 5, 2], hidden="tanh", output="softmax", seed=0)
        >>> model = net.to_onnx("model.onnx")                        # doctest: +SKIP
        >>> import onnxruntime                                       # doctest: +SKIP
        >>> x = np.ones((4, 3), np.float32)
        >>> session = onnxruntime.InferenceSession("model.onnx")     # doctest: +SKIP
        >>> np.allclose(session.run(None, {"X": x})[0], net.predict(x), atol=1e-6)  # doctest: +SKIP
        True
        """
        from .onnx_export import network_to_onnx
        return network_to_onnx(self, path)

    def to_c(self, path: str | os.PathLike | None = None, name: str = "fastbp_mlp") -> str:
        """The network as one dependency-free C99 file: the weights as float32 arrays and
        ``void NAME_predict(const float *x, size_t n, float *y)`` computing `predict` for n
        rows (x: n x inputs, y: n x outputs, rows contiguous; link with -lm). Written to `path`
        when given; returns the source. `name` prefixes every symbol.

        Examples
        --------
        >>> import fastbp
        >>> source = fastbp.MLP([3, 5, 2], output="softmax", seed=0).to_c(name="tiny")
        >>> "void tiny_predict(const float *x, size_t n, float *y)" in source
        True
        """
        from .c_export import network_to_c
        return network_to_c(self, path, name)

    @classmethod
    def from_torch(cls, model: Any, loss: str | None = None) -> "MLP":
        """An MLP from a ``torch.nn.Sequential`` of Linear layers and supported activations.

        The hidden activations must all be the same (ReLU, LeakyReLU(0.01), Sigmoid, Tanh or
        none); the output activation may also be Softmax. Needs PyTorch.

        Examples
        --------
        >>> import torch, fastbp                                              # doctest: +SKIP
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(),  # doctest: +SKIP
        ...                             torch.nn.Linear(8, 3), torch.nn.Softmax(dim=1))
        >>> fastbp.MLP.from_torch(model)                                      # doctest: +SKIP
        MLP(layers=[4, 8, 3], hidden='relu', output='softmax', loss='softmax_ce', dtype='float32')
        """
        from .interop import from_torch
        return from_torch(cls, model, loss)

    # -- files ----------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Writes the architecture and weights to a ``.npz`` file, atomically (a temporary file
        in the same directory, then a rename): a crash never leaves a half-written model.

        Examples
        --------
        >>> import fastbp, tempfile, os
        >>> net = fastbp.MLP([4, 8, 3], output="softmax", seed=0)
        >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
        >>> net.save(path)
        >>> fastbp.MLP.load(path).layers
        [4, 8, 3]
        """
        _files.save(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "MLP":
        """Reads a model written by `save`. Never unpickles; checks the format version,
        architecture, every array's shape, dtype and finiteness, and refuses compressed,
        truncated, altered or extra members with a ValueError naming the file.

        Examples
        --------
        >>> import fastbp, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
        >>> fastbp.MLP([3, 2], output="softmax", seed=1).save(path)
        >>> fastbp.MLP.load(path)
        MLP(layers=[3, 2], hidden='relu', output='softmax', loss='softmax_ce', dtype='float32')
        """
        return _files.load(cls, path)


def _full_batch_arguments(lr, momentum, lr_schedule, batch_size) -> str | None:
    """The first argument of fit given that a full-batch line-search method has no use for."""
    for name, value in (("lr", lr), ("momentum", momentum), ("lr_schedule", lr_schedule),
                        ("batch_size", batch_size)):
        if value is not None:
            return name
    return None
