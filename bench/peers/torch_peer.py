"""PyTorch eager: nn.Sequential + optim.SGD, zero_grad(set_to_none=True); on a given number of
threads (one is faster than two on small layers), and optionally with torch.compile of the
model (forward and backward compiled, the optimizer step eager); with `autocast`, forward and loss
under torch.autocast("cpu", dtype=torch.bfloat16), as PyTorch's mixed-precision recipe has it
(float32 weights and optimizer, bfloat16 products)."""

from .common import batches


def runner(w, data, threads, compiled=False, autocast=False):
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
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=w.momentum)
    forward = torch.compile(model) if compiled else model
    X = torch.from_numpy(data.X)
    if w.loss == "softmax_ce":
        T = torch.from_numpy(data.labels)
        loss_fn = torch.nn.CrossEntropyLoss()
    elif w.loss == "bce":
        T = torch.from_numpy(data.T)
        loss_fn = torch.nn.BCELoss()
    else:
        T = torch.from_numpy(data.T)
        loss_fn = torch.nn.MSELoss()

    def run_epoch():
        # The thread count is process-wide in PyTorch: each mode sets its own before it runs.
        torch.set_num_threads(threads)
        b = w.batch
        for start in batches(data, b):
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                loss = loss_fn(forward(X[start:start + b]), T[start:start + b])
            loss.backward()
            opt.step()
        return data.n // b * b
    return run_epoch
