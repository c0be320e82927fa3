"""PyTorch eager: nn.Sequential + optim.SGD, zero_grad(set_to_none=True)."""

from .common import batches


def runner(w, data):
    import torch

    acts = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}
    modules = []
    for i, (a, b) in enumerate(zip(w.layers[:-1], w.layers[1:])):
        modules.append(torch.nn.Linear(a, b))
        if i < len(w.layers) - 2:
            modules.append(acts[w.hidden]())
    if w.output == "sigmoid":
        modules.append(torch.nn.Sigmoid())
    model = torch.nn.Sequential(*modules)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    X = torch.from_numpy(data.X)
    if w.loss == "softmax_ce":
        T = torch.from_numpy(data.labels)
        loss_fn = torch.nn.CrossEntropyLoss()
    else:
        T = torch.from_numpy(data.T)
        loss_fn = torch.nn.MSELoss()

    def run_epoch():
        b = w.batch
        for start in batches(data, b):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(X[start:start + b]), T[start:start + b])
            loss.backward()
            opt.step()
        return data.n // b * b
    return run_epoch
