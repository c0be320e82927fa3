"""An autodiff oracle every fresh machine runs (jax is in the test extras): predictions, losses,
gradients (jax.grad) and optimizer steps of fastbp against the same network written in JAX,
with JAX's own activation functions, for every activation and loss."""

import numpy as np
import pytest

import fastbp
from conftest import make_data
from reference_optimizers import ReferenceOptimizer

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy

ACTIVATIONS = {
    "identity": lambda z: z,
    "relu": jax.nn.relu,
    "leaky_relu": lambda z: jax.nn.leaky_relu(z, negative_slope=0.01),
    "sigmoid": jax.nn.sigmoid,
    "tanh": jnp.tanh,
    "elu": jax.nn.elu,
    "softplus": jax.nn.softplus,
    "silu": jax.nn.silu,
    "gelu": lambda z: jax.nn.gelu(z, approximate=False),
    "gelu_tanh": lambda z: jax.nn.gelu(z, approximate=True),
}


def jax_loss(params, X, T, hidden, output, loss, delta=1.0):
    """Mean per-sample loss of the network params = [W0, b0, W1, b1, ...]."""
    a = X
    n_layers = len(params) // 2
    for layer in range(n_layers):
        z = a @ params[2 * layer] + params[2 * layer + 1]
        a = ACTIVATIONS[hidden](z) if layer + 1 < n_layers else z
    if loss == "softmax_ce":
        return -(T * jax.nn.log_softmax(a, axis=1)).sum(axis=1).mean()
    if loss == "bce":  # from the logits, as fastbp's
        return (jnp.maximum(a, 0) - a * T + jnp.log1p(jnp.exp(-jnp.abs(a)))).sum(axis=1).mean()
    if loss == "poisson":  # half the deviance, log link: exp(a) - T a + T log T - T
        return (jnp.exp(a) - T * a + jax.scipy.special.xlogy(T, T) - T).sum(axis=1).mean()
    y = ACTIVATIONS[output](a)
    d = y - T
    if loss == "huber":
        per_element = jnp.where(jnp.abs(d) <= delta, 0.5 * d * d, delta * (jnp.abs(d) - 0.5 * delta))
        return per_element.sum(axis=1).mean()
    return 0.5 * (d * d).sum(axis=1).mean()


def flat_params(net):
    return [jnp.asarray(a, dtype=jnp.float64) for pair in zip(net.weights, net.biases)
            for a in pair]


PAIRINGS = [("softmax", "softmax_ce"), ("sigmoid", "bce"), ("identity", "mse"),
            ("tanh", "huber"), ("gelu", "mse"), ("exp", "poisson")]


@pytest.mark.parametrize("hidden", list(ACTIVATIONS))
@pytest.mark.parametrize("output,loss", PAIRINGS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_loss_and_gradients_match_jax_grad(hidden, output, loss, dtype):
    rng = np.random.default_rng(len(hidden) * 13 + len(loss))
    net = fastbp.MLP([11, 17, 7, 4], hidden=hidden, output=output, loss=loss, dtype=dtype,
                     seed=5)
    for b in net.biases:
        b[...] = rng.normal(scale=0.1, size=b.shape)
    X, T = make_data(rng, 9, 11, 4, loss)
    X = X.astype(dtype).astype(np.float64)
    value, grads = jax.value_and_grad(jax_loss)(flat_params(net), X, T, hidden, output, loss)
    tol = dict(rtol=2e-4, atol=2e-5) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(net.loss(X, T), float(value), **tol, err_msg="loss")
    dW, db = net.gradients(X, T)
    for layer in range(len(dW)):
        np.testing.assert_allclose(dW[layer], np.asarray(grads[2 * layer]), **tol,
                                   err_msg=f"dW[{layer}]")
        np.testing.assert_allclose(db[layer], np.asarray(grads[2 * layer + 1]), **tol,
                                   err_msg=f"db[{layer}]")


@pytest.mark.parametrize("hidden", list(ACTIVATIONS))
def test_predictions_match_jax(hidden):
    rng = np.random.default_rng(3)
    net = fastbp.MLP([6, 13, 3], hidden=hidden, output="softmax", dtype="float64", seed=1)
    X = rng.normal(size=(20, 6))
    params = flat_params(net)
    a = X
    for layer in range(2):
        z = a @ params[2 * layer] + params[2 * layer + 1]
        a = ACTIVATIONS[hidden](z) if layer == 0 else jax.nn.softmax(z, axis=1)
    np.testing.assert_allclose(net.predict(X), np.asarray(a), rtol=1e-12, atol=1e-14)


OPTIMIZERS = [fastbp.SGD(lr=0.05, momentum=0.9), fastbp.SGD(lr=0.05, momentum=0.9, nesterov=True,
                                                            weight_decay=0.01),
              fastbp.Adam(lr=0.01, weight_decay=0.1), fastbp.AdamW(lr=0.01),
              fastbp.Lion(lr=0.005, weight_decay=0.1), fastbp.RProp(step_init=0.01)]


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=lambda o: type(o).__name__)
@pytest.mark.parametrize("batch", [1, 8])
def test_optimizer_steps_match_jax_gradients(optimizer, batch):
    """Each train_step against one step of the rule (written from the papers in
    tests/reference_optimizers.py) applied to jax.grad's gradient."""
    rng = np.random.default_rng(batch)
    net = fastbp.MLP([5, 9, 3], hidden="gelu", output="softmax", dtype="float64", seed=2)
    params = [np.array(p) for p in flat_params(net)]
    rule = ReferenceOptimizer(optimizer._settings(), params)
    for _ in range(4):
        X, T = make_data(rng, batch, 5, 3, "softmax_ce")
        grads = jax.grad(jax_loss)([jnp.asarray(p) for p in params], X, T, "gelu", "softmax",
                                   "softmax_ce")
        rule.step(params, [np.asarray(g) for g in grads])
        net.train_step(X, T, optimizer=optimizer)
    for got, want in zip([a for pair in zip(net.weights, net.biases) for a in pair], params):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
