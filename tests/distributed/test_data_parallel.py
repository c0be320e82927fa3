"""One model trained by every process of COMM_WORLD against the same training in one process.

Run as ``mpiexec -n 2 python -m pytest tests/distributed`` (and -n 3). In a plain
single-process pytest these tests are skipped before mpi4py is imported: initialising MPI in
the main test process would change what the fork tests fork from. (No conftest.py here: the
tests import helpers from tests/conftest.py by that name.)
"""

import contextlib
import os

import numpy as np
import pytest

import fastbp
from fastbp.distributed import LocalSGD, average_parameters, broadcast_parameters

# The launchers' own word for the number of processes (MPICH's Hydra, Open MPI).
WORLD_SIZE = int(os.environ.get("PMI_SIZE") or os.environ.get("OMPI_COMM_WORLD_SIZE") or 1)
pytestmark = pytest.mark.skipif(WORLD_SIZE == 1, reason="needs several processes: mpiexec -n 2 "
                                "python -m pytest tests/distributed")


@pytest.fixture(scope="module")
def comm():
    from mpi4py import MPI
    return MPI.COMM_WORLD


@pytest.fixture
def together(comm):
    """A context whose failure on any process fails the test on every process, so that no
    process is left waiting in a collective for one that has stopped."""

    @contextlib.contextmanager
    def check():
        error = None
        try:
            yield
        except Exception as e:  # an assertion, or any error of the checks
            error = e
        failures = comm.allgather(None if error is None else f"process {comm.Get_rank()}: "
                                  f"{type(error).__name__}: {error}")
        if error is not None:
            raise error
        failed = [f for f in failures if f]
        if failed:
            pytest.fail("failed on another process: " + "; ".join(failed))

    return check


OPTIMIZERS = {
    "sgd": lambda: fastbp.SGD(lr=0.1),
    "momentum": lambda: fastbp.SGD(lr=0.05, momentum=0.9),
    "nesterov": lambda: fastbp.SGD(lr=0.05, momentum=0.9, nesterov=True),
    "decay": lambda: fastbp.SGD(lr=0.1, weight_decay=0.01),
    "adam": lambda: fastbp.Adam(lr=0.01),
    "adamw": lambda: fastbp.AdamW(lr=0.01),
    "lion": lambda: fastbp.Lion(lr=0.001),
    "rprop": lambda: fastbp.RProp(),
}
TOLERANCE = {np.float32: 2e-5, np.float64: 1e-11}


def data(n=67, n_in=7, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in))
    return X, rng.integers(0, classes, n)


def net(dtype=np.float64, seed=1, layers=(7, 17, 3)):
    return fastbp.MLP(list(layers), output="softmax", seed=seed, dtype=dtype)


def identical_everywhere(comm, values):
    everyone = comm.allgather(np.ascontiguousarray(values).tobytes())
    return all(v == everyone[0] for v in everyone)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_global_shards_take_the_steps_of_one_process(comm, together, name, dtype):
    X, y = data()
    size = comm.Get_size()
    batch = 5
    replica = net(dtype, seed=comm.Get_rank())  # rank 0's initial parameters are broadcast
    history = replica.fit(X, y, epochs=3, batch_size=batch, optimizer=OPTIMIZERS[name](), seed=4,
                          comm=comm)
    alone = net(dtype, seed=0)
    expected = alone.fit(X, y, epochs=3, batch_size=batch * size, optimizer=OPTIMIZERS[name](),
                         seed=4)
    with together():
        tol = TOLERANCE[dtype]
        np.testing.assert_allclose(replica._net.parameters(), alone._net.parameters(),
                                   rtol=tol * 10, atol=tol)
        np.testing.assert_allclose(history.loss, expected.loss, rtol=tol * 10)
        assert identical_everywhere(comm, replica._net.parameters())
        assert identical_everywhere(comm, np.array(history.loss))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sample_weights_and_validation(comm, together, dtype):
    X, y = data(n=40)
    w = np.random.default_rng(2).uniform(0, 2, size=40)
    Xv, yv = data(n=15, seed=3)
    size = comm.Get_size()
    replica = net(dtype)
    history = replica.fit(X, y, epochs=4, batch_size=3, lr=0.1, momentum=0.5, seed=1,
                          sample_weight=w, validation_data=(Xv, yv), comm=comm)
    alone = net(dtype)
    expected = alone.fit(X, y, epochs=4, batch_size=3 * size, lr=0.1, momentum=0.5, seed=1,
                         sample_weight=w, validation_data=(Xv, yv))
    with together():
        tol = TOLERANCE[dtype]
        np.testing.assert_allclose(replica._net.parameters(), alone._net.parameters(),
                                   rtol=tol * 10, atol=tol)
        np.testing.assert_allclose(history.val_loss, expected.val_loss, rtol=tol * 10)
        # figures travel as a float32 pair in a float32 model: about 48 bits
        np.testing.assert_allclose(history.val_accuracy, expected.val_accuracy, rtol=1e-13)


def test_uneven_local_shards_weigh_every_row(comm, together):
    """Process r holds 9 + 7r rows: those that run out join with no rows, never hang, and each
    step is the plain SGD step on the rows of all processes together."""
    rank, size = comm.Get_rank(), comm.Get_size()
    parts = [data(n=9 + 7 * r, seed=10 + r) for r in range(size)]
    X, y = parts[rank]
    batch = 4
    replica = net()
    history = replica.fit(X, y, epochs=2, batch_size=batch, lr=0.2, shuffle=False, comm=comm,
                          shard="local")
    alone = net()
    steps = max(-(-len(p[1]) // batch) for p in parts)
    for _ in range(2):
        for s in range(steps):
            rows = [(p[0][s * batch:(s + 1) * batch], p[1][s * batch:(s + 1) * batch])
                    for p in parts]
            alone.train_step(np.vstack([r[0] for r in rows]), np.concatenate([r[1] for r in rows]),
                             optimizer=fastbp.SGD(lr=0.2))
    with together():
        np.testing.assert_allclose(replica._net.parameters(), alone._net.parameters(),
                                   rtol=1e-10, atol=1e-12)
        assert len(history) == 2
        assert identical_everywhere(comm, replica._net.parameters())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_local_sgd_every_step_is_gradient_averaging_for_plain_sgd(comm, together, dtype):
    X, y = data(n=8 * comm.Get_size() * 4)  # every step has the same rows on every process
    a, b = net(dtype), net(dtype)
    a.fit(X, y, epochs=2, batch_size=8, lr=0.1, seed=2, comm=comm, sync=LocalSGD(every=1))
    b.fit(X, y, epochs=2, batch_size=8, lr=0.1, seed=2, comm=comm)
    with together():
        tol = TOLERANCE[dtype]
        np.testing.assert_allclose(a._net.parameters(), b._net.parameters(), rtol=tol * 10,
                                   atol=tol)


@pytest.mark.parametrize("every", [1, 3, 16])
@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_local_sgd_keeps_replicas_identical_and_learns(comm, together, name, every):
    X, y = data(n=120)
    replica = net()
    history = replica.fit(X, y, epochs=5, batch_size=4, optimizer=OPTIMIZERS[name](), seed=0,
                          comm=comm, sync=LocalSGD(every=every))
    with together():
        assert identical_everywhere(comm, replica._net.parameters())
        assert identical_everywhere(comm, np.array(history.loss))
        assert history.loss[-1] < history.loss[0]


@pytest.mark.parametrize("sync", ["gradients", LocalSGD(every=2)])
def test_early_stopping_is_decided_the_same_everywhere(comm, together, sync):
    """Each process validates on rows of its own: the figures are combined before deciding."""
    rank = comm.Get_rank()
    X, y = data(n=30 + 10 * rank, seed=rank)
    Xv, yv = data(n=10 + 5 * rank, seed=20 + rank)
    replica = net()
    history = replica.fit(X, y, epochs=200, batch_size=4, lr=0.5, seed=0, comm=comm,
                          shard="local", sync=sync, validation_data=(Xv, yv), patience=2)
    with together():
        lengths = comm.allgather(len(history))
        assert len(set(lengths)) == 1 and lengths[0] < 200
        assert identical_everywhere(comm, np.array(history.val_loss))
        assert identical_everywhere(comm, replica._net.parameters())


@pytest.mark.parametrize("sync", ["gradients", LocalSGD(every=3)])
def test_divergence_on_one_process_stops_every_process(comm, together, sync):
    rank = comm.Get_rank()
    X, y = data(n=24)
    if rank == comm.Get_size() - 1:
        X = X * 1e30  # only this process's rows overflow
    replica = net(np.float32)
    before = replica._net.parameters().copy()
    try:
        replica.fit(X, y, epochs=3, batch_size=4, lr=0.1, comm=comm, shard="local", sync=sync)
        error = None
    except fastbp.DivergenceError as e:
        error = e
    with together():
        assert error is not None
        assert identical_everywhere(comm, np.array([error.epoch, error.batch]))
        np.testing.assert_array_equal(replica._net.parameters(), before)


@pytest.mark.parametrize("sync", ["gradients", LocalSGD(every=2)])
def test_a_callback_that_stops_one_process_stops_all(comm, together, sync):
    rank = comm.Get_rank()
    X, y = data()
    replica = net()
    history = replica.fit(X, y, epochs=10, batch_size=4, lr=0.1, comm=comm, sync=sync,
                          callbacks=[lambda log: not (rank == 1 and log["epoch"] == 2)])
    with together():
        assert len(history) == 2


def test_a_failing_callback_on_one_process_stops_all(comm, together):
    rank = comm.Get_rank()
    X, y = data()

    def fails_on_rank_1(log):
        if rank == 1:
            raise ZeroDivisionError("the callback of process 1")

    try:
        net().fit(X, y, epochs=10, batch_size=4, lr=0.1, comm=comm, callbacks=[fails_on_rank_1])
        raised = None
    except Exception as e:
        raised = e
    with together():
        if rank == 1:
            assert isinstance(raised, ZeroDivisionError)
        else:
            assert isinstance(raised, RuntimeError) and "another process" in str(raised)


def test_without_a_seed_every_process_takes_the_first_ones(comm, together):
    X, y = data(n=40)
    replica = net()
    history = replica.fit(X, y, epochs=2, batch_size=4, lr=0.1, validation_split=0.25,
                          comm=comm)
    with together():
        assert identical_everywhere(comm, replica._net.parameters())
        assert identical_everywhere(comm, np.array(history.val_loss))


def test_arguments_refused_on_one_process_stop_every_process(comm, together):
    """Invalid labels on the last process only, then a different epoch count there: each
    process raises (none waits for the others), the one at fault saying what is wrong."""
    rank, last = comm.Get_rank(), comm.Get_size() - 1
    X, y = data()
    raised = []
    for bad in ({"T": np.full(len(y), 7)}, {"epochs": 3}):
        kwargs = {"T": y, "epochs": 2}
        if rank == last:
            kwargs.update(bad)
        try:
            net().fit(X, kwargs["T"], epochs=kwargs["epochs"], batch_size=4, comm=comm)
            raised.append(None)
        except ValueError as e:
            raised.append(str(e))
    with together():
        assert all(raised), raised
        if rank != last:
            assert "another process refused" in raised[0]
        assert "same epochs" in raised[1]


def test_different_shards_or_sync_on_one_process_stop_every_process(comm, together):
    """The shard and sync settings are agreed too: a process that shards differently, or
    averages at another interval, would leave the others waiting in a collective."""
    rank, last = comm.Get_rank(), comm.Get_size() - 1
    X, y = data()
    raised = []
    for mine, theirs, what in ((("local", "gradients"), ("global", "gradients"), "same shard"),
                               (("local", LocalSGD(every=2)), ("local", LocalSGD(every=3)),
                                "same sync")):
        shard, sync = theirs if rank == last else mine
        try:
            net().fit(X, y, epochs=1, batch_size=4, comm=comm, shard=shard, sync=sync)
            raised.append(None)
        except ValueError as e:
            raised.append(what if what in str(e) else str(e))
    with together():
        assert raised == ["same shard", "same sync"], raised


def test_a_bfloat16_model_beside_float32_ones_stops_every_process(comm, together):
    """float32 buffers on every process, so nothing but the agreed terms would notice that one
    process multiplies in bfloat16."""
    rank, last = comm.Get_rank(), comm.Get_size() - 1
    X, y = data()
    try:
        net(dtype="bfloat16" if rank == last else "float32").fit(X, y, epochs=1, batch_size=4,
                                                                 comm=comm)
        raised = None
    except ValueError as e:
        raised = str(e)
    with together():
        assert raised is not None and "same model dtype" in raised, raised


def test_local_sgd_with_adam_on_uneven_shards_keeps_replicas_identical(comm, together):
    rank = comm.Get_rank()
    X, y = data(n=12 + 9 * rank, seed=rank)
    replica = net()
    replica.fit(X, y, epochs=3, batch_size=4, optimizer=fastbp.Adam(lr=0.01), comm=comm,
                shard="local", sync=LocalSGD(every=2))
    replica.fit(X, y, epochs=1, batch_size=4, optimizer=fastbp.Adam(lr=0.01), comm=comm,
                shard="local", sync=LocalSGD(every=2))  # the state carried into a second call
    with together():
        assert identical_everywhere(comm, replica._net.parameters())


def test_bad_settings_are_refused_everywhere(comm, together):
    X, y = data()
    errors = []
    for kwargs in ({"shard": "everywhere"}, {"sync": "weights"}, {"sync": LocalSGD}):
        try:
            net().fit(X, y, epochs=1, comm=comm, **kwargs)
        except (ValueError, TypeError) as e:
            errors.append(type(e).__name__)
    with together():
        assert errors == ["ValueError", "ValueError", "ValueError"]


def test_broadcast_and_average_parameters(comm, together):
    rank, size = comm.Get_rank(), comm.Get_size()
    replica = net(seed=rank)
    own = replica._net.parameters().copy()
    mean = sum(np.asarray(p) for p in comm.allgather(own)) / size
    average_parameters(replica, comm)
    averaged = replica._net.parameters().copy()
    broadcast_parameters(replica, comm, root=size - 1)
    last = comm.bcast(averaged if rank == size - 1 else None, root=size - 1)
    with together():
        np.testing.assert_allclose(averaged, mean, rtol=1e-14, atol=1e-15)
        np.testing.assert_array_equal(replica._net.parameters(), last)
