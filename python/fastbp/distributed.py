"""Data-parallel training over MPI: one model trained by several processes.

Every process builds the same ``fastbp.MLP`` and calls ``fit(..., comm=comm)`` with an mpi4py
communicator; the epoch loop stays in C++ and calls back into mpi4py's buffer ``Allreduce``
once per step (or once per ``LocalSGD.every`` steps). fastbp never links MPI itself:
``pip install "fastbp[mpi]"`` brings mpi4py (and an MPI library, MPICH, from PyPI).

>>> from mpi4py import MPI                                      # doctest: +SKIP
>>> net = fastbp.MLP([64, 128, 10], output="softmax", seed=0)   # doctest: +SKIP
>>> net.fit(X, y, epochs=20, batch_size=32, comm=MPI.COMM_WORLD)  # doctest: +SKIP

Run it as ``mpiexec -n 4 python train.py``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from . import _validation as check

__all__ = ["LocalSGD", "broadcast_parameters", "average_parameters"]

_SHARDS = ("global", "local")


@dataclasses.dataclass(frozen=True)
class LocalSGD:
    """Local SGD: each process takes fused steps on its own batches, and every ``every`` steps
    (and at the end of each epoch) the processes average their parameters and optimizer state.

    Far fewer collectives than synchronous steps (``sync="gradients"``); with plain SGD,
    ``every=1`` and equal batches it takes the same steps.
    """

    every: int = 16

    def __post_init__(self):
        check.integer("LocalSGD.every", self.every, minimum=1)


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as error:  # pragma: no cover - mpi4py is in the test extras
        raise ImportError("comm: training over MPI needs mpi4py: pip install "
                          "\"fastbp[mpi]\"") from error
    return MPI


def _check_comm(comm) -> None:
    for method in ("Get_rank", "Get_size", "Allreduce", "Bcast", "allgather"):
        if not callable(getattr(comm, method, None)):
            raise TypeError(f"comm: expected an mpi4py communicator (with {method}), got "
                            f"{type(comm).__name__}")


def _summing(comm):
    """A function summing a NumPy buffer in place over the processes of `comm`."""
    MPI = _mpi()

    def total(values: np.ndarray) -> None:
        comm.Allreduce(MPI.IN_PLACE, values, op=MPI.SUM)

    return total


def common_seed(comm, seed):
    """Process 0's seed on every process (each would draw its own for seed=None, and shuffle
    and split differently): the first collective of a fit, before anything can fail on one
    process only."""
    _check_comm(comm)
    try:
        mine = ("ok", check.seed("seed", seed))
    except (TypeError, ValueError) as error:
        mine = ("error", error)
    everyone = comm.allgather(mine if mine[0] == "ok" else ("error", str(mine[1])))
    if mine[0] == "error":
        raise mine[1]
    if any(kind == "error" for kind, _ in everyone):
        raise ValueError(f"seed: refused on another process: "
                         f"{next(v for kind, v in everyone if kind == 'error')}")
    return everyone[0][1]


def refuse(comm, error: BaseException) -> None:
    """Tells the other processes (waiting in `settings`) that this one refused its arguments."""
    comm.allgather(("error", f"process {comm.Get_rank()}: {type(error).__name__}: {error}", 0))


def settings(comm, shard: str, sync: Any, n_rows: int, batch_size: int, epochs: int,
             has_validation: bool, compute_dtype: str = "float32") -> dict:
    """The core's data-parallel settings for one ``fit`` call, once every process has checked its
    arguments and they agree (the data's rows with global shards, epochs, batch size,
    validation): otherwise every process raises, and none is left waiting."""
    problem = None
    if shard not in _SHARDS:
        problem = f"shard: expected one of {_SHARDS}, got {shard!r}"
    elif not (isinstance(sync, LocalSGD) or (isinstance(sync, str) and sync == "gradients")):
        problem = (f"sync: expected 'gradients' or fastbp.distributed.LocalSGD(every=k), got "
                   f"{sync!r}")
    elif _mpi().Query_thread() < _mpi().THREAD_SERIALIZED:
        problem = ("comm: synchronous steps call MPI from a thread of fit's own, which needs "
                   "MPI initialised with at least MPI_THREAD_SERIALIZED (mpi4py's default is "
                   "MPI_THREAD_MULTIPLE; see mpi4py.rc.thread_level)")
    terms = {"epochs": epochs, "batch_size": batch_size, "validation data": has_validation,
             "shard": shard, "model dtype": compute_dtype,
             "sync": f"LocalSGD(every={sync.every})" if isinstance(sync, LocalSGD) else sync}
    if shard == "global":
        terms["rows of X (shard='global')"] = n_rows
    # With local shards an epoch has as many steps as the process with the most batches: each
    # process's count rides in the same exchange.
    batches = -(-n_rows // min(batch_size, n_rows)) if n_rows > 0 else 0
    everyone = comm.allgather(("error", problem, 0) if problem else ("ok", terms, batches))
    if problem:
        raise ValueError(problem)
    refusals = [v for kind, v, _ in everyone if kind == "error"]
    if refusals:
        raise ValueError("comm: another process refused its arguments: " + "; ".join(refusals))
    for name in terms:
        values = [v[name] for _, v, _ in everyone]
        if any(v != values[0] for v in values):
            raise ValueError(f"comm: every process must pass the same {name}, got {values}")
    every = sync.every if isinstance(sync, LocalSGD) else 0
    steps = max(count for _, _, count in everyone) if shard == "local" else 0
    return {"rank": int(comm.Get_rank()), "size": int(comm.Get_size()), "shard": shard,
            "steps_per_epoch": steps, "average_every": every, "sum": _summing(comm)}


def broadcast_parameters(net, comm, root: int = 0) -> None:
    """Gives every process the parameters of process `root` (in place)."""
    _check_comm(comm)
    comm.Bcast(net._net.parameters(), root=root)


def average_parameters(net, comm) -> None:
    """Replaces every process's parameters by their mean over the processes (in place); for
    loops written by hand (``gradients``/``train_step`` with a sync of your own)."""
    _check_comm(comm)
    values = net._net.parameters()
    comm.Allreduce(_mpi().IN_PLACE, values, op=_mpi().SUM)
    values *= values.dtype.type(1.0 / comm.Get_size())
