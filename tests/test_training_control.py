"""fit's training control: learning-rate schedules, validation split, early stopping with best
weights restored, divergence, callbacks, History.plot."""

import math

import numpy as np
import pytest

import fastbp
from conftest import make_data


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return make_data(rng, 50, 4, 2, "mse")


def rates(net, X, T, schedule, epochs=7, **kw):
    return net.fit(X, T, epochs=epochs, batch_size=10, lr=0.1, lr_schedule=schedule,
                   **kw).learning_rate


def test_schedules_give_the_documented_rates(data):
    X, T = data
    net = fastbp.MLP([4, 6, 2], seed=0)
    assert rates(net, X, T, "constant") == [0.1] * 7
    got = rates(net, X, T, fastbp.InverseScalingLR(power_t=0.25))
    np.testing.assert_allclose(got, [0.1 / (50 * e + 1) ** 0.25 for e in range(7)])
    got = rates(net, X, T, fastbp.StepLR(step_size=3, gamma=0.5))
    np.testing.assert_allclose(got, [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025])
    got = rates(net, X, T, fastbp.ExponentialLR(gamma=0.9))
    np.testing.assert_allclose(got, [0.1 * 0.9 ** e for e in range(7)])


def test_plateau_divides_the_rate_when_the_loss_stalls(data):
    X, T = data
    net = fastbp.MLP([4, 6, 2], seed=0)
    # tol 100: only the first epoch counts as an improvement.
    got = rates(net, X, T, fastbp.ReduceLROnPlateau(patience=2, factor=0.2, tol=100.0,
                                                     min_lr=0.001), epochs=12)
    np.testing.assert_allclose(got, [0.1] * 4 + [0.02] * 3 + [0.004] * 3 + [0.001] * 2)


def test_validation_split_holds_out_samples(data):
    X, T = data
    history = fastbp.MLP([4, 6, 2], seed=0).fit(X, T, epochs=2, validation_split=0.2, seed=1)
    assert history.n_samples == 40 and not math.isnan(history.val_loss[-1])
    with pytest.raises(ValueError, match="either validation_data or validation_split"):
        fastbp.MLP([4, 6, 2]).fit(X, T, validation_split=0.2, validation_data=(X, T))
    with pytest.raises(ValueError, match="validation_split"):
        fastbp.MLP([4, 6, 2]).fit(X[:2], T[:2], validation_split=0.1)
    with pytest.raises(ValueError, match="validation_split"):
        fastbp.MLP([4, 6, 2]).fit(X, T, validation_split=1.0)


def test_early_stopping_restores_the_best_weights(data):
    X, T = data
    X_val, T_val = X[:10] + 0.5, -T[:10]  # a validation set the training soon overfits
    net = fastbp.MLP([4, 32, 2], seed=0, dtype="float64")
    snapshots = []
    history = net.fit(X, T, epochs=500, lr=0.2, validation_data=(X_val, T_val), patience=5,
                      callbacks=[lambda log: snapshots.append([w.copy() for w in net.weights])])
    assert len(history) < 500, "the validation loss should stop improving"
    best = history.best_epoch
    assert len(history) == best + 5
    assert history.val_loss[best - 1] == min(history.val_loss)
    for w, w_best in zip(net.weights, snapshots[best - 1]):
        np.testing.assert_array_equal(w, w_best)
    np.testing.assert_allclose(net.loss(X_val, T_val), history.val_loss[best - 1], rtol=1e-12)


def test_early_stopping_without_restore_keeps_the_last_weights(data):
    X, T = data
    net = fastbp.MLP([4, 8, 2], seed=0, dtype="float64")
    snapshots = []
    history = net.fit(X, T, epochs=50, lr=0.01, patience=2, tol=10.0,
                      restore_best_weights=False,
                      callbacks=[lambda log: snapshots.append([w.copy() for w in net.weights])])
    assert len(history) == 3  # epoch 1 is the best; 2 and 3 do not beat it by 10
    for w, w_last in zip(net.weights, snapshots[-1]):
        np.testing.assert_array_equal(w, w_last)


def test_callback_returning_false_stops(data):
    X, T = data
    history = fastbp.MLP([4, 6, 2], seed=0).fit(X, T, epochs=10,
                                                callbacks=[lambda log: log["epoch"] < 3])
    assert len(history) == 3


def test_callback_may_predict_but_not_train_its_model(data):
    X, T = data
    net = fastbp.MLP([4, 6, 2], seed=0)
    outputs = []
    net.fit(X, T, epochs=2, callbacks=[lambda log: outputs.append(net.predict(X))])
    assert len(outputs) == 2 and outputs[0].shape == (50, 2)
    with pytest.raises(RuntimeError, match="already being trained"):
        net.fit(X, T, epochs=2, callbacks=[lambda log: net.train_step(X, T)])
    net.train_step(X, T)  # and the lock is free again


def test_divergence_stops_with_epoch_and_batch_and_finite_weights(data):
    X, T = data
    net = fastbp.MLP([4, 16, 2], hidden="relu", seed=0)
    with pytest.raises(fastbp.DivergenceError, match=r"epoch \d+, batch \d+") as info:
        net.fit(X * 1e3, T, epochs=100, batch_size=5, lr=10.0)
    err = info.value
    assert isinstance(err, FloatingPointError) and err.epoch >= 1 and 1 <= err.batch <= 10
    assert len(err.history) == err.epoch - 1
    for w in net.weights + net.biases:
        assert np.isfinite(w).all()
    assert np.isfinite(net.predict(X)).all()


def test_train_step_divergence_leaves_the_model_unchanged():
    net = fastbp.MLP([2, 3, 1], hidden="identity", seed=0)
    before = [w.copy() for w in net.weights]
    X = np.full((2, 2), 3e38, dtype=np.float32)
    with pytest.raises(fastbp.DivergenceError, match="not applied"):
        net.train_step(X, np.zeros((2, 1)), optimizer=fastbp.Adam())
    for w, w0 in zip(net.weights, before):
        np.testing.assert_array_equal(w, w0)


def test_history_plot_draws_the_curves(data):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    X, T = data
    history = fastbp.MLP([4, 6, 2], seed=0).fit(X, T, epochs=4, validation_split=0.2)
    ax = history.plot()
    labels = [line.get_label() for line in ax.get_lines()]
    assert "training loss" in labels and "validation loss" in labels
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), history.loss)
    import matplotlib.pyplot as plt
    plt.close("all")
