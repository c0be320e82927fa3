"""Training learns, is reproducible, and fit does what the equivalent train_steps do."""

import sys

import numpy as np
import pytest

import fastbp
from conftest import make_data


def test_xor_reaches_near_zero_loss():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([0, 1, 1, 0], dtype=np.float32)
    net = fastbp.MLP([2, 8, 1], hidden="tanh", output="sigmoid", seed=0)
    history = net.fit(X, y, epochs=3000, batch_size=1, lr=0.2)
    assert history.loss[-1] < 0.01, f"final XOR loss {history.loss[-1]:.4f}"
    np.testing.assert_array_equal(net.predict(X).ravel() > 0.5, y > 0.5)


def test_digits_reach_95_percent_test_accuracy():
    datasets = pytest.importorskip("sklearn.datasets")
    digits = datasets.load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    y = digits.target
    rng = np.random.default_rng(0)
    order = rng.permutation(len(X))
    train, test = order[:1400], order[1400:]
    net = fastbp.MLP([64, 128, 10], hidden="relu", output="softmax", seed=0)
    history = net.fit(X[train], y[train], epochs=40, batch_size=32, lr=0.1, momentum=0.9,
                      seed=0, validation_data=(X[test], y[test]))
    accuracy = (net.predict(X[test]).argmax(axis=1) == y[test]).mean()
    assert accuracy >= 0.95, f"digits test accuracy {accuracy:.3f}"
    assert history.val_accuracy[-1] == pytest.approx(accuracy)


def _trained_weights(dtype):
    rng = np.random.default_rng(0)
    X, y = make_data(rng, 300, 20, 4, "softmax_ce", labels=True)
    net = fastbp.MLP([20, 300, 4], hidden="relu", output="softmax", dtype=dtype, seed=7)
    net.fit(X, y, epochs=3, batch_size=64, lr=0.05, momentum=0.5, seed=3)
    return [w.copy() for w in net.weights + net.biases]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_same_seed_gives_bit_identical_weights(dtype, threads):
    first = _trained_weights(dtype)
    second = _trained_weights(dtype)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    threads.assert_used()


def test_different_seeds_give_different_initial_weights():
    a = fastbp.MLP([4, 5, 2], seed=1).weights[0]
    b = fastbp.MLP([4, 5, 2], seed=2).weights[0]
    assert not np.array_equal(a, b)


def test_fit_without_shuffle_equals_train_steps_including_partial_last_batch():
    rng = np.random.default_rng(1)
    X, T = make_data(rng, 23, 6, 3, "mse")
    a = fastbp.MLP([6, 9, 3], hidden="tanh", dtype="float64", seed=5)
    b = fastbp.MLP([6, 9, 3], hidden="tanh", dtype="float64", seed=5)
    history = a.fit(X, T, epochs=2, batch_size=5, lr=0.1, momentum=0.3, shuffle=False)
    losses = []
    for _ in range(2):
        epoch = []
        for start in range(0, 23, 5):  # batches of 5, 5, 5, 5, 3
            epoch.append(b.train_step(X[start:start + 5], T[start:start + 5], lr=0.1,
                                      momentum=0.3) * len(X[start:start + 5]))
        losses.append(sum(epoch) / 23)
    for wa, wb in zip(a.weights + a.biases, b.weights + b.biases):
        np.testing.assert_allclose(wa, wb, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(history.loss, losses, rtol=1e-13)


def test_fit_shuffles_by_permutation_and_still_learns_regression():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(512, 8))
    w = rng.normal(size=(8, 2))
    T = np.tanh(X @ w)
    net = fastbp.MLP([8, 32, 2], hidden="tanh", output="identity", seed=0)
    history = net.fit(X, T, epochs=60, batch_size=16, lr=0.05, seed=1)
    assert history.loss[-1] < 0.1 * history.loss[0]


def test_fit_history_and_validation_fields():
    rng = np.random.default_rng(3)
    X, y = make_data(rng, 100, 5, 3, "softmax_ce", labels=True)
    net = fastbp.MLP([5, 8, 3], output="softmax", seed=0)
    history = net.fit(X, y, epochs=4, batch_size=10, validation_data=(X[:20], y[:20]))
    assert history.epochs == [1, 2, 3, 4]
    assert len(history["loss"]) == 4 and all(np.isfinite(history.val_loss))
    assert all(0 <= a <= 1 for a in history.val_accuracy)
    assert history.val_loss[-1] == pytest.approx(net.loss(X[:20], y[:20]), rel=1e-5)
    assert all(s > 0 for s in history.samples_per_second)


def test_regression_history_has_no_accuracy():
    rng = np.random.default_rng(3)
    X, T = make_data(rng, 30, 5, 2, "mse")
    history = fastbp.MLP([5, 4, 2], seed=0).fit(X, T, epochs=2, validation_data=(X, T))
    assert np.isnan(history.val_accuracy).all() and np.isfinite(history.val_loss).all()


def test_callback_returning_false_stops_training():
    rng = np.random.default_rng(4)
    X, T = make_data(rng, 40, 3, 1, "mse")
    seen = []

    def stop_after_three(log):
        seen.append(log["epoch"])
        return log["epoch"] < 3

    history = fastbp.MLP([3, 4, 1], seed=0).fit(X, T, epochs=50, callbacks=[stop_after_three])
    assert seen == [1, 2, 3] and len(history) == 3


def test_exception_in_callback_propagates_and_model_stays_usable():
    rng = np.random.default_rng(4)
    X, T = make_data(rng, 40, 3, 1, "mse")
    net = fastbp.MLP([3, 4, 1], seed=0)

    def fail(log):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        net.fit(X, T, epochs=5, callbacks=[fail])
    assert np.isfinite(net.predict(X)).all()
    net.train_step(X, T)  # the training lock was released


def test_verbose_without_tqdm_prints_one_line_per_epoch(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now raises ImportError
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    rng = np.random.default_rng(4)
    X, T = make_data(rng, 40, 3, 1, "mse")
    fastbp.MLP([3, 4, 1], seed=0).fit(X, T, epochs=3, verbose=True)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[-1].startswith("epoch 3/3") and "samples/s" in lines[-1]


def test_verbose_with_tqdm_draws_a_progress_bar(capsys):
    pytest.importorskip("tqdm")
    rng = np.random.default_rng(4)
    X, T = make_data(rng, 40, 3, 1, "mse")
    fastbp.MLP([3, 4, 1], seed=0).fit(X, T, epochs=3, verbose=True, validation_data=(X, T))
    err = capsys.readouterr().err
    assert "3/3" in err and "loss=" in err and "val_loss=" in err and "samples/s=" in err


def test_multilabel_bce_learns():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(400, 6))
    T = np.stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0], axis=1).astype(np.float64)
    net = fastbp.MLP([6, 16, 2], hidden="relu", output="sigmoid", seed=0)
    history = net.fit(X, T, epochs=40, batch_size=16, lr=0.2, validation_data=(X, T))
    assert history.val_accuracy[-1] > 0.9


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("momentum", [0.0, 0.5])
@pytest.mark.parametrize("layers,hidden,output", [([64, 40, 10], "relu", "softmax"),
                                                  ([30, 70, 33, 1], "tanh", "sigmoid"),
                                                  ([5, 3, 2], "sigmoid", "identity")])
def test_online_fit_equals_train_steps(dtype, momentum, layers, hidden, output):
    """fit with batch_size=1 fuses each sample's first-layer product into the previous update;
    the result must be the sequence of plain train_steps."""
    rng = np.random.default_rng(8)
    n = 37
    a = fastbp.MLP(layers, hidden=hidden, output=output, dtype=dtype, seed=2)
    b = fastbp.MLP(layers, hidden=hidden, output=output, dtype=dtype, seed=2)
    X, T = make_data(rng, n, layers[0], layers[-1], a.loss_name, labels=True)
    history = a.fit(X, T, epochs=2, batch_size=1, lr=0.05, momentum=momentum, shuffle=False)
    losses = []
    for _ in range(2):
        losses.append(np.mean([b.train_step(X[i:i + 1], T[i:i + 1], lr=0.05, momentum=momentum)
                               for i in range(n)]))
    tol = dict(rtol=1e-4, atol=1e-6) if dtype == "float32" else dict(rtol=1e-11, atol=1e-13)
    for wa, wb in zip(a.weights + a.biases, b.weights + b.biases):
        np.testing.assert_allclose(wa, wb, **tol)
    np.testing.assert_allclose(history.loss, losses, **tol)


def test_online_fit_learns_digits():
    datasets = pytest.importorskip("sklearn.datasets")
    digits = datasets.load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    y = digits.target
    net = fastbp.MLP([64, 64, 10], hidden="sigmoid", output="softmax", seed=0)
    net.fit(X[:1400], y[:1400], epochs=15, batch_size=1, lr=0.05, seed=0)
    accuracy = (net.predict(X[1400:]).argmax(axis=1) == y[1400:]).mean()
    assert accuracy >= 0.9, f"online digits test accuracy {accuracy:.3f}"


@pytest.fixture
def python_handles_sigint():
    """The interrupt tests need Python's own SIGINT handler (interrupt_main does nothing when
    another handler, SIG_IGN or SIG_DFL, is installed): put it there for the test."""
    import signal
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def give_up_after(seconds):
    """A callback that stops training after `seconds`: a lost interrupt fails the test instead
    of leaving it running for an hour."""
    import time
    deadline = time.perf_counter() + seconds
    return lambda logs: time.perf_counter() < deadline


@pytest.mark.usefixtures("python_handles_sigint")
def test_ctrl_c_stops_a_long_epoch_quickly_and_leaves_a_usable_model():
    """KeyboardInterrupt is seen between mini-batches, not only between epochs."""
    import _thread
    import threading
    import time

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200_000, 64)).astype(np.float32)
    y = rng.integers(0, 10, len(X))
    net = fastbp.MLP([64, 256, 10], hidden="relu", output="softmax", seed=0)
    seen = []
    timer = threading.Timer(0.3, _thread.interrupt_main)
    start = time.perf_counter()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            net.fit(X, y, epochs=50, batch_size=1, lr=0.01,
                    callbacks=[seen.append, give_up_after(10)])
    finally:
        timer.cancel()
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0, f"fit took {elapsed:.2f} s to answer the interrupt"
    assert seen == []  # the first epoch (seconds long) had not finished
    assert np.isfinite(net.predict(X[:5])).all()
    net.train_step(X[:4], y[:4])  # the training lock was released


@pytest.mark.usefixtures("python_handles_sigint")
def test_ctrl_c_leaves_the_finished_epochs_in_the_history():
    import _thread
    import threading

    rng = np.random.default_rng(1)
    X = rng.normal(size=(20_000, 32)).astype(np.float32)
    y = rng.integers(0, 4, len(X))
    net = fastbp.MLP([32, 64, 4], output="softmax", seed=0)
    seen = []
    timer = threading.Timer(0.5, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt) as info:
            net.fit(X, y, epochs=100_000, batch_size=8, lr=0.01,
                    callbacks=[seen.append, give_up_after(30)])
    finally:
        timer.cancel()
    history = info.value.history
    assert len(seen) >= 1, "several epochs should finish in 0.5 s"
    assert history.epochs == [log["epoch"] for log in seen]
    assert history.loss == [log["loss"] for log in seen]
    assert all(np.isfinite(history.loss))
    assert np.isfinite(net.predict(X[:5])).all()
