"""fastbp itself: `fit` (the whole epoch in C++) and `train_step` called from Python."""

import fastbp

LR = 0.01


def _net(w):
    return fastbp.MLP(w.layers, hidden=w.hidden, output=w.output, loss=w.loss, seed=0)


def _targets(w, data):
    return data.labels if w.loss == "softmax_ce" else data.T


def fit_runner(w, data):
    net, targets = _net(w), _targets(w, data)

    def run_epoch():
        net.fit(data.X, targets, epochs=1, batch_size=w.batch, lr=LR, shuffle=True, seed=1)
        return data.n
    return run_epoch


def train_step_runner(w, data):
    net, targets = _net(w), _targets(w, data)
    from .common import batches

    def run_epoch():
        b = w.batch
        for start in batches(data, b):
            net.train_step(data.X[start:start + b], targets[start:start + b], lr=LR)
        return data.n // b * b
    return run_epoch
