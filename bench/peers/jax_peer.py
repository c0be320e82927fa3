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
        y = jax.nn.sigmoid(z) if w.output == "sigmoid" else z
        return 0.5 * ((y - T) ** 2).sum(axis=1).mean()
    return loss_fn


def runner(w, data):
    import jax
    import jax.numpy as jnp

    loss_fn = loss_function(w)

    @jax.jit
    def step(params, X, T):
        loss, grads = jax.value_and_grad(loss_fn)(params, X, T)
        return [(W - LR * gW, b - LR * gb) for (W, b), (gW, gb) in zip(params, grads)], loss

    b = w.batch
    Xs = [jnp.asarray(data.X[s:s + b]) for s in batches(data, b)]
    Ts = [jnp.asarray(data.T[s:s + b]) for s in batches(data, b)]
    params = initial_params(w)
    state = {"params": params}
    jax.block_until_ready(step(params, Xs[0], Ts[0]))  # compile outside the timed region

    def run_epoch():
        p = state["params"]
        for X, T in zip(Xs, Ts):
            p, loss = step(p, X, T)
        jax.block_until_ready(p)
        state["params"] = p
        return len(Xs) * b
    return run_epoch
