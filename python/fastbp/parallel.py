"""Threads: how many the kernels may use, when a kernel goes parallel, how many it really used,
and what happens in a forked child process.

Each parallel kernel uses several threads only above a measured amount of work per thread, so
small networks never pay for a fork/join. On a busy machine (other processes competing for the
cores) the kernels notice their thread teams starting late and run on one thread for a while
before trying again, so that default threads are never much slower than one
(`set_adapt_to_load`, `load_adaptation`). A child process forked (``multiprocessing``'s default
"fork" start method on Linux before Python 3.14, joblib's "multiprocessing" backend, gunicorn,
Celery) after fastbp ran threads trains and predicts on one thread: GNU OpenMP cannot start threads
in such a child, and waiting for them would hang. Use the "spawn" or "forkserver" start method to
give child processes threads of their own.

>>> import fastbp
>>> fastbp.parallel.set_parallel_threshold(0)       # tests: thread even the smallest products
>>> fastbp.parallel.set_parallel_threshold(None)    # back to the measured thresholds
"""

from __future__ import annotations

import warnings

from . import _core
from . import _validation as check


def get_num_threads() -> int:
    """The number of threads the kernels may use (OMP_NUM_THREADS or the cores by default; 1 in
    a child forked after fastbp ran threads, see `threads_disabled_by_fork`).

    >>> import fastbp
    >>> fastbp.get_num_threads() >= 1
    True
    """
    return _core.get_num_threads()


def set_num_threads(n: int) -> None:
    """Sets the threads the kernels may use, 1 to 1024; they never run more than the processors.

    Small products stay on one thread whatever the setting. In a child forked after fastbp ran
    threads the setting is kept but has no effect (a RuntimeWarning says so).

    >>> import fastbp
    >>> before = fastbp.get_num_threads()
    >>> fastbp.set_num_threads(1); fastbp.get_num_threads()
    1
    >>> fastbp.set_num_threads(before)
    """
    n = check.integer("n", n)
    if not 1 <= n <= 1024:
        raise ValueError(f"n: expected an integer in [1, 1024], got {n}")
    _core.set_num_threads(n)
    if n > 1 and _core.threads_disabled_by_fork():
        warnings.warn("fastbp: this process was forked after fastbp ran threads in its parent; "
                      "GNU OpenMP cannot start threads here, so fastbp stays on one thread. Use "
                      "the 'spawn' or 'forkserver' start method to train with threads in child "
                      "processes.", RuntimeWarning, stacklevel=2)


def threads_disabled_by_fork() -> bool:
    """True in a child process forked after fastbp ran threads (in its parent or earlier): fastbp
    runs on one thread there.

    >>> import fastbp
    >>> fastbp.parallel.threads_disabled_by_fork()
    False
    """
    return _core.threads_disabled_by_fork()


def set_parallel_threshold(flops_per_thread: float | None) -> None:
    """Replaces the measured work thresholds of the parallel kernels by ``flops_per_thread``
    (0: every kernel uses every thread it may, even on tiny products; None restores the
    measured thresholds). Meant for tests that must exercise the threaded paths on small data.

    >>> import fastbp
    >>> fastbp.parallel.set_parallel_threshold(0)
    >>> fastbp.parallel.set_parallel_threshold(None)
    """
    if flops_per_thread is None:
        _core.set_parallel_threshold(-1.0)
        return
    _core.set_parallel_threshold(check.real("flops_per_thread", flops_per_thread, low=0))


def parallel_threshold() -> float | None:
    """The threshold set by `set_parallel_threshold`, or None for the measured ones.

    >>> import fastbp
    >>> fastbp.parallel.parallel_threshold() is None
    True
    """
    value = _core.parallel_threshold()
    return None if value < 0 else value


def set_adapt_to_load(on: bool) -> None:
    """Whether the kernels back off to one thread while the machine is busy (on by default).
    Off, every team has the size its work asks for, however late its threads start.

    >>> import fastbp
    >>> fastbp.parallel.set_adapt_to_load(False); fastbp.parallel.set_adapt_to_load(True)
    """
    _core.set_adapt_to_load(check.boolean("on", on))


def load_adaptation() -> dict:
    """What the load adaptation did since the process started: ``late_signals`` (windows of
    thread teams that spent much of their time waiting for members the OS took off their cores,
    and preemptions of the calling thread), ``back_offs`` (times the kernels went to one thread),
    ``false_alarms`` (late signals that kept the threads, because teams still got more work done
    per second than one thread did during the last back-off) and ``backing_off`` (on one thread
    now).

    >>> import fastbp
    >>> sorted(fastbp.parallel.load_adaptation())
    ['back_offs', 'backing_off', 'false_alarms', 'late_signals']
    """
    return _core.load_adaptation()


class threads_used:
    """Context manager recording the largest thread team any kernel ran inside it.

    >>> import numpy as np, fastbp
    >>> with fastbp.parallel.threads_used() as used:
    ...     _ = fastbp.MLP([3, 2]).predict(np.ones((1, 3)))
    >>> used.count
    1
    """

    count: int

    def __enter__(self) -> "threads_used":
        _core.reset_threads_used()
        self.count = 1
        return self

    def __exit__(self, *exc_info) -> None:
        self.count = _core.threads_used()
