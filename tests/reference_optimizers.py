"""Independent float64 NumPy versions of the optimizer updates, written from the papers'
formulas (not from fastbp's kernels) for the tests to compare against."""

import numpy as np


class ReferenceOptimizer:
    """Applies one optimizer step to lists of arrays [W0, b0, W1, b1, ...]; weight decay only on
    the weights (even positions)."""

    def __init__(self, settings, params):
        self.s = dict(settings)
        self.t = 0
        self.state1 = [np.zeros_like(p) for p in params]
        init2 = self.s.get("step_init", 0.1) if self.s["kind"] == "rprop" else 0.0
        self.state2 = [np.full_like(p, init2) for p in params]

    def step(self, params, grads, lr=None):
        s, kind = self.s, self.s["kind"]
        default_lr = {"sgd": 0.01, "lion": 1e-4}.get(kind, 0.001)
        lr = s.get("lr", default_lr) if lr is None else lr
        wd = s.get("weight_decay", 0.01 if kind == "adamw" else 0.0)
        self.t += 1
        for i, (p, g) in enumerate(zip(params, grads)):
            decay = wd if i % 2 == 0 else 0.0
            if kind == "sgd":
                mu = s.get("momentum", 0.0)
                g = g + decay * p
                v = mu * self.state1[i] - lr * g
                self.state1[i] = v
                p += (mu * v - lr * g) if s.get("nesterov") else v
            elif kind in ("adam", "adamw"):
                b1, b2, eps = s.get("beta1", 0.9), s.get("beta2", 0.999), s.get("epsilon", 1e-8)
                if kind == "adamw":
                    p *= 1 - lr * decay
                else:
                    g = g + decay * p
                m = self.state1[i] = b1 * self.state1[i] + (1 - b1) * g
                v = self.state2[i] = b2 * self.state2[i] + (1 - b2) * g * g
                if s.get("epsilon_uncorrected"):  # Kingma & Ba's "efficient" form
                    step = lr * np.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t)
                    p -= step * m / (np.sqrt(v) + eps)
                else:
                    m_hat, v_hat = m / (1 - b1 ** self.t), v / (1 - b2 ** self.t)
                    p -= lr * m_hat / (np.sqrt(v_hat) + eps)
            elif kind == "lion":  # Chen et al. 2023, Algorithm 2 (decoupled weight decay)
                b1, b2 = s.get("beta1", 0.9), s.get("beta2", 0.99)
                c = b1 * self.state1[i] + (1 - b1) * g
                p -= lr * (np.sign(c) + decay * p)
                self.state1[i] = b2 * self.state1[i] + (1 - b2) * g
            elif kind == "rprop":
                up, down = s.get("eta_plus", 1.2), s.get("eta_minus", 0.5)
                lo, hi = s.get("step_min", 1e-6), s.get("step_max", 50.0)
                g = g + decay * p
                sign = np.sign(g * self.state1[i])
                step = self.state2[i]
                step = np.where(sign > 0, np.minimum(step * up, hi), step)
                step = np.where(sign < 0, np.maximum(step * down, lo), step)
                g = np.where(sign < 0, 0.0, g)
                self.state2[i], self.state1[i] = step, g
                p -= np.sign(g) * step
            else:
                raise ValueError(kind)
