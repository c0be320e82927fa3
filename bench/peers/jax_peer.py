"""JAX called once per batch: jax.jit of value_and_grad + the SGD update, the whole step
compiled, the epoch loop in Python."""

import numpy as np

from .common import batches

LR = 0.01


def initial_params(w):
    import jax.numpy as jnp

    rng = np.random.default_rng(0)
    return [(jnp.asarray((rng.standard_normal((a, b)) * np.sqrt(2 / a)).astype(np.float32)),
             jnp.zeros(b, jnp.float32)) for a, b in zip(w.layers[:-1], w.layers[1:])]


def loss_function(w):
    import jax
    import jax.numpy as jnp

    act = {"relu": jax.nn.relu, "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid}[w.hidden]

    def loss_fn(params, X, T):
        h = X
        for W, b in params[:-1]:
            h = act(h @ W + b)
        z = h @ params[-1][0] + params[-1][1]
        if w.loss == "softmax_ce":
            return -(T * jax.nn.log_softmax(z)).sum(axis=1).mean()
        if w.loss == "bce":  # on the logits, as a sigmoid output's loss is computed stably
            return -(T * jax.nn.log_sigmoid(z) + (1 - T) * jax.nn.log_sigmoid(-z)).sum(1).mean()
        y = jax.nn.sigmoid(z) if w.output == "sigmoid" else z
        return 0.5 * ((y - T) ** 2).sum(axis=1).mean()
    return loss_fn


def sgd_update(w):
    """The update of the workload's SGD on (params, velocities): plain, or classical momentum
    (V = mu V - lr G, W += V)."""
    import jax

    mu = w.momentum

    def update(state, grads):
        params, velocities = state
        if not mu:
            return jax.tree_util.tree_map(lambda p, g: p - LR * g, params, grads), velocities
        velocities = jax.tree_util.tree_map(lambda v, g: mu * v - LR * g, velocities, grads)
        return jax.tree_util.tree_map(lambda p, v: p + v, params, velocities), velocities
    return update


def initial_state(w):
    import jax

    params = initial_params(w)
    return params, jax.tree_util.tree_map(lambda p: p * 0, params)


def runner(w, data):
    import jax
    import jax.numpy as jnp

    loss_fn = loss_function(w)
    update = sgd_update(w)

    @jax.jit
    def step(state, X, T):
        loss, grads = jax.value_and_grad(loss_fn)(state[0], X, T)
        return update(state, grads), loss

    b = w.batch
    Xs = [jnp.asarray(data.X[s:s + b]) for s in batches(data, b)]
    Ts = [jnp.asarray(data.T[s:s + b]) for s in batches(data, b)]
    state = {"params": initial_state(w)}
    jax.block_until_ready(step(state["params"], Xs[0], Ts[0]))  # compile outside the timed region

    def run_epoch():
        p = state["params"]
        for X, T in zip(Xs, Ts):
            p, loss = step(p, X, T)
        jax.block_until_ready(p)
        state["params"] = p
        return len(Xs) * b
    return run_epoch
