"""scikit-learn's MLPClassifier / MLPRegressor: solver="sgd" with the workload's momentum
(classical, not Nesterov's), one epoch per call."""

import warnings


def runner(w, data):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    activation = {"relu": "relu", "tanh": "tanh", "sigmoid": "logistic"}[w.hidden]
    common = dict(hidden_layer_sizes=tuple(w.layers[1:-1]), activation=activation, solver="sgd",
                  batch_size=w.batch, learning_rate_init=0.01, momentum=w.momentum,
                  nesterovs_momentum=False, max_iter=1,
                  shuffle=True, random_state=0, alpha=0.0, tol=0.0)
    if w.loss == "softmax_ce":
        model, y = MLPClassifier(**common), data.labels
    elif w.output == "sigmoid":
        model, y = MLPClassifier(**common), (data.T[:, 0] > 0.5).astype(int)
    else:
        model, y = MLPRegressor(**common), data.T.ravel() if data.T.shape[1] == 1 else data.T
    kwargs = {"classes": list(range(w.layers[-1]))} if w.loss == "softmax_ce" else {}
    if w.output == "sigmoid":
        kwargs = {"classes": [0, 1]}

    def run_epoch():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.partial_fit(data.X, y, **kwargs)
        return data.n
    return run_epoch
