"""Every optimizer against an independent NumPy implementation (tests/reference_optimizers.py,
written from the papers); the fused SGD paths against the element-wise one; fit's use of
optimizer state. (Against torch.optim: tests/test_torch_optim.py; against jax.grad:
tests/test_jax_oracle.py.)"""

import numpy as np
import pytest

import fastbp
from conftest import assert_close, make_data, reference_of
from reference_optimizers import ReferenceOptimizer

OPTIMIZERS = {
    "sgd": fastbp.SGD(lr=0.05),
    "sgd-decay": fastbp.SGD(lr=0.05, weight_decay=0.1),
    "momentum": fastbp.SGD(lr=0.05, momentum=0.9),
    "momentum-decay": fastbp.SGD(lr=0.05, momentum=0.9, weight_decay=0.1),
    "nesterov": fastbp.SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    "adam": fastbp.Adam(lr=0.01),
    "adam-decay": fastbp.Adam(lr=0.01, weight_decay=0.1, beta1=0.8, beta2=0.99),
    "adamw": fastbp.AdamW(lr=0.01, weight_decay=0.1),
    "adam-sklearn-epsilon": fastbp.Adam(lr=0.01, epsilon=1e-3, epsilon_uncorrected=True),
    "rprop": fastbp.RProp(step_init=0.01, step_max=0.05),
    "lion": fastbp.Lion(lr=0.01, weight_decay=0.1),
    "lion-betas": fastbp.Lion(lr=0.003, beta1=0.8, beta2=0.9),
}


def flat(ref):
    return [a for pair in zip(ref.W, ref.b) for a in pair]


def run_against_reference(net, optimizer, rng, steps, batch):
    ref = reference_of(net)
    params = flat(ref)
    ref_opt = ReferenceOptimizer(optimizer._settings(), params)
    for step in range(steps):
        X, T = make_data(rng, batch, net.layers[0], net.layers[-1], net.loss_name)
        X = X.astype(net.dtype)
        got = net.train_step(X, T, optimizer=optimizer)
        want = ref.loss(X, T)
        dW, db = ref.gradients(X, T)
        ref_opt.step(params, [a for pair in zip(dW, db) for a in pair])
        assert_close(got, want, net.dtype, f"loss of step {step}")
    return ref


@pytest.mark.parametrize("name", list(OPTIMIZERS))
# batch 300 > the GEMM's k-block of 256: the fused update must wait for the last k-block
@pytest.mark.parametrize("layers,batch", [([7, 17, 3], 5), ([5, 129, 1], 1), ([3, 1, 2], 7),
                                          ([40, 70, 5], 300)])
def test_optimizer_steps_match_numpy_reference(name, layers, batch, simd_level, threads):
    rng = np.random.default_rng(len(layers) * 100 + batch)
    net = fastbp.MLP(layers, hidden="tanh", output="identity", dtype="float64", seed=3)
    ref = run_against_reference(net, OPTIMIZERS[name], rng, steps=4, batch=batch)
    for layer in range(len(ref.W)):
        assert_close(net.weights[layer], ref.W[layer], np.float64, f"W[{layer}]")
        assert_close(net.biases[layer], ref.b[layer], np.float64, f"b[{layer}]")
    if batch > 1:  # (batch-1 steps of a small network run in the single-threaded online kernels)
        threads.assert_used()


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizer_steps_beyond_one_block_on_threads(name, threads):
    """More rows (300), columns (2100) and k (300) than one GEMM block in every dimension, so the
    step on each finished tile waits for the last k-block and the tiles of every block, on every
    thread, take it."""
    rng = np.random.default_rng(21)
    net = fastbp.MLP([300, 2100, 5], hidden="tanh", output="identity", dtype="float64", seed=3)
    ref = run_against_reference(net, OPTIMIZERS[name], rng, steps=2, batch=300)
    for layer in range(len(ref.W)):
        assert_close(net.weights[layer], ref.W[layer], np.float64, f"W[{layer}]")
        assert_close(net.biases[layer], ref.b[layer], np.float64, f"b[{layer}]")
    threads.assert_used()


@pytest.mark.parametrize("name", [n for n in OPTIMIZERS if n != "rprop"])
def test_optimizer_steps_float32_close_to_reference(name, threads):
    # RProp is left out: it follows only gradient signs, which float32 rounding may flip for
    # gradients near zero; the float64 test covers it.
    rng = np.random.default_rng(11)
    net = fastbp.MLP([9, 33, 4], hidden="relu", output="softmax", dtype="float32", seed=5)
    ref = run_against_reference(net, OPTIMIZERS[name], rng, steps=3, batch=16)
    for layer in range(len(ref.W)):
        np.testing.assert_allclose(net.weights[layer], ref.W[layer], rtol=1e-3, atol=2e-4)
        np.testing.assert_allclose(net.biases[layer], ref.b[layer], rtol=1e-3, atol=2e-4)
    threads.assert_used()


def test_fused_sgd_matches_elementwise_update():
    """Plain SGD runs fused in the GEMM; with Nesterov off but decay and momentum on it runs
    element-wise. Momentum 0.9 with decay 0 (fused) and decay 1e-300 (element-wise, the decay
    underflows to nothing) must give the same weights."""
    rng = np.random.default_rng(2)
    X, T = make_data(rng, 40, 6, 3, "mse")
    nets = [fastbp.MLP([6, 20, 3], hidden="sigmoid", dtype="float64", seed=1) for _ in range(2)]
    for _ in range(5):
        nets[0].train_step(X, T, optimizer=fastbp.SGD(lr=0.1, momentum=0.9))
        nets[1].train_step(X, T, optimizer=fastbp.SGD(lr=0.1, momentum=0.9, weight_decay=1e-300))
    for a, b in zip(nets[0].weights + nets[0].biases, nets[1].weights + nets[1].biases):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_fit_uses_the_same_steps_as_train_step():
    rng = np.random.default_rng(8)
    X, y = make_data(rng, 30, 4, 3, "softmax_ce", labels=True)
    a = fastbp.MLP([4, 8, 3], output="softmax", dtype="float64", seed=0)
    b = fastbp.MLP([4, 8, 3], output="softmax", dtype="float64", seed=0)
    opt = fastbp.Adam(lr=0.02)
    a.fit(X, y, epochs=3, batch_size=10, optimizer=opt, shuffle=False)
    for _ in range(3):
        for start in range(0, 30, 10):
            b.train_step(X[start:start + 10], y[start:start + 10], optimizer=opt)
    for wa, wb in zip(a.weights + a.biases, b.weights + b.biases):
        np.testing.assert_allclose(wa, wb, rtol=1e-12, atol=1e-14)


def test_state_resets_when_the_optimizer_changes():
    rng = np.random.default_rng(9)
    X, T = make_data(rng, 20, 3, 2, "mse")
    a = fastbp.MLP([3, 5, 2], dtype="float64", seed=0)
    b = fastbp.MLP([3, 5, 2], dtype="float64", seed=0)
    a.train_step(X, T, optimizer=fastbp.Adam())
    a.train_step(X, T, optimizer=fastbp.SGD(lr=0.1, momentum=0.5))  # fresh velocity
    b.train_step(X, T, optimizer=fastbp.Adam())
    b.reset_optimizer()
    b.train_step(X, T, optimizer=fastbp.SGD(lr=0.1, momentum=0.5))
    for wa, wb in zip(a.weights, b.weights):
        np.testing.assert_array_equal(wa, wb)


def test_rprop_trains_xor_full_batch():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([[0], [1], [1], [0]], dtype=np.float32)
    for seed in range(5):
        net = fastbp.MLP([2, 8, 1], hidden="tanh", output="sigmoid", seed=seed)
        history = net.fit(X, y, epochs=300, optimizer="rprop")
        assert history.loss[-1] < 0.01
        assert np.array_equal(net.predict(X) > 0.5, y > 0.5)


def test_adam_learns_digits():
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = datasets.load_digits(return_X_y=True)
    X = X / 16.0
    net = fastbp.MLP([64, 64, 10], output="softmax", seed=0)
    net.fit(X[:1400], y[:1400], epochs=15, optimizer=fastbp.Adam(lr=0.01), seed=0)
    accuracy = (net.predict(X[1400:]).argmax(1) == y[1400:]).mean()
    assert accuracy > 0.9  # the last 397 digits are the hard ones: sklearn gets ~0.92


@pytest.mark.parametrize("bad,match", [
    (dict(optimizer="adagrad"), "optimizer: expected one of"),
    (dict(optimizer=3), "optimizer: expected fastbp.SGD"),
    (dict(optimizer=fastbp.SGD(), lr=0.1), "give them to the optimizer"),
])
def test_bad_optimizer_arguments(bad, match):
    net = fastbp.MLP([2, 2], seed=0)
    X = np.zeros((3, 2))
    with pytest.raises((TypeError, ValueError), match=match):
        net.fit(X, X, epochs=1, **bad)


@pytest.mark.parametrize("make,match", [
    (lambda: fastbp.SGD(lr=0), "lr"),
    (lambda: fastbp.SGD(lr=float("nan")), "lr"),
    (lambda: fastbp.SGD(momentum=1.0), "momentum"),
    (lambda: fastbp.SGD(nesterov=True), "nesterov"),
    (lambda: fastbp.SGD(nesterov=1), "nesterov"),
    (lambda: fastbp.SGD(weight_decay=-1), "weight_decay"),
    (lambda: fastbp.Adam(beta1=1.0), "beta1"),
    (lambda: fastbp.Adam(beta2=-0.1), "beta2"),
    (lambda: fastbp.Adam(epsilon=0), "epsilon"),
    (lambda: fastbp.AdamW(lr="0.1"), "lr"),
    (lambda: fastbp.RProp(eta_plus=1.0), "eta_plus"),
    (lambda: fastbp.RProp(eta_minus=1.0), "eta_minus"),
    (lambda: fastbp.RProp(step_init=100.0), "step_init"),
    (lambda: fastbp.RProp(step_min=1.0, step_max=0.5), "step_max"),
])
def test_bad_optimizer_settings(make, match):
    with pytest.raises((TypeError, ValueError), match=match):
        make()
