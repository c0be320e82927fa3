"""fastbp itself: `fit` (the whole epoch loop in C++) and `train_step` called from Python."""

import time

import fastbp

from .common import batches

LR = 0.01


def _net(w, dtype="float32"):
    return fastbp.MLP(w.layers, hidden=w.hidden, output=w.output, loss=w.loss, dtype=dtype,
                      seed=0)


def _targets(w, data):
    return data.labels if w.loss == "softmax_ce" else data.T


def fit_runner(w, data, threads=None, dtype="float32"):
    """Each call trains as many epochs as take about 0.1 s, in one `fit`, as a user would: the
    per-call argument checks then cost what they cost in real use. With `threads`, on that many
    threads (and the run's own setting back afterwards); `dtype` bfloat16: bfloat16 products."""
    net, targets = _net(w, dtype), _targets(w, data)

    def train(epochs):
        before = fastbp.get_num_threads()
        fastbp.set_num_threads(threads or before)
        try:
            net.fit(data.X, targets, epochs=epochs, batch_size=w.batch, lr=LR,
                    momentum=w.momentum, shuffle=True, seed=1)
        finally:
            fastbp.set_num_threads(before)

    start = time.perf_counter()
    train(1)
    epochs = max(1, int(0.1 / max(time.perf_counter() - start, 1e-6)))

    def run():
        train(epochs)
        return epochs * data.n
    return run


def train_step_runner(w, data, dtype="float32"):
    net, targets = _net(w, dtype), _targets(w, data)

    def run_epoch():
        b = w.batch
        for start in batches(data, b):
            net.train_step(data.X[start:start + b], targets[start:start + b], lr=LR,
                           momentum=w.momentum)
        return data.n // b * b
    return run_epoch
