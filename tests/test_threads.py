"""Thread safety: concurrent predict on one model, serialised training of one model, predict
waiting for a running fit, independent models in parallel, and the GIL released while training."""

import threading
import time

import numpy as np
import pytest

import fastbp
from conftest import make_data


def run_threads(target, count):
    errors = []

    def wrapped(i):
        try:
            target(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
        assert not t.is_alive(), "a thread hung"
    if errors:
        raise errors[0]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_concurrent_predict_on_one_model(dtype, threads):
    rng = np.random.default_rng(0)
    net = fastbp.MLP([30, 64, 64, 5], output="softmax", dtype=dtype, seed=0)
    inputs = [rng.normal(size=(n, 30)).astype(dtype) for n in (1, 7, 300, 2000)]
    expected = [net.predict(x) for x in inputs]

    def work(i):
        for step in range(40):
            k = (i + step) % len(inputs)
            np.testing.assert_array_equal(net.predict(inputs[k]), expected[k])

    run_threads(work, 6)


def test_concurrent_training_of_one_model_is_serialised():
    """Identical plain SGD steps commute, so any serial order gives the same weights, bit for
    bit; a data race would not."""
    rng = np.random.default_rng(1)
    X, T = make_data(rng, 64, 20, 4, "mse")
    shared = fastbp.MLP([20, 48, 4], dtype="float64", seed=0)
    serial = fastbp.MLP([20, 48, 4], dtype="float64", seed=0)
    run_threads(lambda i: [shared.train_step(X, T, lr=1e-3) for _ in range(25)], 4)
    for _ in range(100):
        serial.train_step(X, T, lr=1e-3)
    for a, b in zip(shared.weights + shared.biases, serial.weights + serial.biases):
        np.testing.assert_array_equal(a, b)


def test_predict_during_fit_waits_for_the_fit():
    rng = np.random.default_rng(2)
    X, T = make_data(rng, 2000, 32, 3, "mse")
    net = fastbp.MLP([32, 64, 3], seed=0)
    first_epoch_done = threading.Event()
    during = {}

    def train(_):
        net.fit(X, T, epochs=30, lr=1e-3, callbacks=[lambda log: first_epoch_done.set()])

    def predict_meanwhile(_):
        assert first_epoch_done.wait(60)
        during["y"] = net.predict(X[:5])

    run_threads(lambda i: (train, predict_meanwhile)[i](i), 2)
    np.testing.assert_array_equal(during["y"], net.predict(X[:5]))


def test_independent_models_train_in_parallel_threads():
    rng = np.random.default_rng(3)
    X, T = make_data(rng, 500, 10, 2, "mse")
    parallel = [fastbp.MLP([10, 32, 2], dtype="float64", seed=s) for s in range(4)]
    serial = [fastbp.MLP([10, 32, 2], dtype="float64", seed=s) for s in range(4)]
    run_threads(lambda i: parallel[i].fit(X, T, epochs=5, seed=i, lr=0.01), 4)
    for i, net in enumerate(serial):
        net.fit(X, T, epochs=5, seed=i, lr=0.01)
    for a, b in zip(parallel, serial):
        for wa, wb in zip(a.weights, b.weights):
            np.testing.assert_array_equal(wa, wb)


def test_fit_releases_the_gil():
    rng = np.random.default_rng(4)
    X, T = make_data(rng, 4000, 64, 4, "mse")
    net = fastbp.MLP([64, 256, 4], seed=0)
    ticks = []
    stop = threading.Event()

    def count(_):
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    counter = threading.Thread(target=count, args=(0,))
    counter.start()
    start = time.perf_counter()
    while time.perf_counter() - start < 0.2:  # long enough for the other thread to tick
        net.fit(X, T, epochs=5, batch_size=64, lr=1e-3)
    end = time.perf_counter()
    stop.set()
    counter.join()
    inside = [t for t in ticks if start < t < end]
    # with the GIL held through each fit the other thread could tick only between the calls
    assert len(inside) >= 50
