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
    for method in ("Get_rank", "Get_size", "Allreduce", "Bcast", "allreduce"):
        if not callable(getattr(comm, method, None)):
            raise TypeError(f"comm: expected an mpi4py communicator (with {method}), got "
                            f"{type(comm).__name__}")


def _summing(comm):
    """A function summing a NumPy buffer in place over the processes of `comm`."""
    MPI = _mpi()

    def total(values: np.ndarray) -> None:
        comm.Allreduce(MPI.IN_PLACE, values, op=MPI.SUM)

    return total


def settings(comm, shard: str, sync: Any, n_rows: int, batch_size: int) -> dict:
    """The core's data-parallel settings for one ``fit`` call (what every process agrees on
    before training: a local shard's number of steps per epoch)."""
    _check_comm(comm)
    if shard not in _SHARDS:
        raise ValueError(f"shard: expected one of {_SHARDS}, got {shard!r}")
    if isinstance(sync, LocalSGD):
        every = sync.every
    elif sync == "gradients":
        every = 0
    else:
        raise ValueError(f"sync: expected 'gradients' or fastbp.distributed.LocalSGD(every=k), "
                         f"got {sync!r}")
    steps = 0
    if shard == "local":
        steps = int(comm.allreduce(-(-n_rows // min(batch_size, n_rows)), op=_mpi().MAX))
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
