"""JAX as its users run an epoch: one `jax.jit` of a `lax.scan` over the epoch's batches (the
whole loop compiled, no Python between steps). Batches in order, as fixed arrays."""

import numpy as np

from .common import batches
from .jax_peer import initial_state, loss_function, sgd_update


def runner(w, data):
    import jax
    import jax.numpy as jnp

    loss_fn = loss_function(w)
    update = sgd_update(w)
    b = w.batch
    starts = list(batches(data, b))
    Xs = jnp.asarray(np.stack([data.X[s:s + b] for s in starts]))
    Ts = jnp.asarray(np.stack([data.T[s:s + b] for s in starts]))

    def sgd_step(state, batch):
        X, T = batch
        loss, grads = jax.value_and_grad(loss_fn)(state[0], X, T)
        return update(state, grads), loss

    @jax.jit
    def epoch(params, Xs, Ts):
        return jax.lax.scan(sgd_step, params, (Xs, Ts))

    state = {"params": initial_state(w)}
    jax.block_until_ready(epoch(state["params"], Xs, Ts))  # compile outside the timed region

    def run_epoch():
        params, _ = epoch(state["params"], Xs, Ts)
        state["params"] = jax.block_until_ready(params)
        return len(starts) * b
    return run_epoch
