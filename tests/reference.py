"""An independent float64 NumPy implementation of the textbook backpropagation algorithm.

Nothing here calls fastbp: the tests replay fastbp's computation with it and compare.
"""

import numpy as np
from scipy.special import erf

LEAKY_SLOPE = 0.01
SQRT_2_OVER_PI = np.sqrt(2 / np.pi)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _gelu_tanh_inner(z):
    return SQRT_2_OVER_PI * (z + 0.044715 * z ** 3)


def activate(name, z):
    if name == "identity":
        return z
    if name == "relu":
        return np.maximum(z, 0)
    if name == "leaky_relu":
        return np.where(z > 0, z, LEAKY_SLOPE * z)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "elu":
        return np.where(z > 0, z, np.expm1(np.minimum(z, 0)))
    if name == "softplus":
        return np.logaddexp(0, z)
    if name == "silu":
        return z * _sigmoid(z)
    if name == "gelu":
        return 0.5 * z * (1 + erf(z / np.sqrt(2)))
    if name == "gelu_tanh":
        return 0.5 * z * (1 + np.tanh(_gelu_tanh_inner(z)))
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    if name == "exp":
        return np.exp(z)
    raise ValueError(name)


def derivative(name, z):
    """d act / d z, from the pre-activation."""
    if name == "identity":
        return np.ones_like(z)
    if name == "relu":
        return (z > 0).astype(z.dtype)
    if name == "leaky_relu":
        return np.where(z > 0, 1.0, LEAKY_SLOPE)
    if name == "sigmoid":
        s = 1 / (1 + np.exp(-z))
        return s * (1 - s)
    if name == "tanh":
        return 1 - np.tanh(z) ** 2
    if name == "elu":
        return np.where(z > 0, 1.0, np.exp(np.minimum(z, 0)))
    if name == "softplus":
        return _sigmoid(z)
    if name == "silu":
        s = _sigmoid(z)
        return s + z * s * (1 - s)
    if name == "gelu":
        return 0.5 * (1 + erf(z / np.sqrt(2))) + z * np.exp(-z * z / 2) / np.sqrt(2 * np.pi)
    if name == "gelu_tanh":
        t = np.tanh(_gelu_tanh_inner(z))
        return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * z * z)
    if name == "exp":
        return np.exp(z)
    raise ValueError(name)


def one_hot(labels, n_classes):
    t = np.zeros((len(labels), n_classes))
    t[np.arange(len(labels)), labels] = 1
    return t


def round_to_bfloat16(values):
    """Float32 values rounded to bfloat16 (as float64): 8 significant bits, ties to even, a
    subnormal float32 flushed to a zero of its sign, as the hardware conversion does. Written
    with frexp/rint, not the bit manipulation of fastbp's own rounding."""
    x = np.asarray(values, dtype=np.float32).astype(np.float64)
    mantissa, exponent = np.frexp(x)  # x = mantissa 2^exponent, 0.5 <= |mantissa| < 1
    rounded = np.ldexp(np.rint(np.ldexp(mantissa, 8)), exponent - 8)
    rounded = np.where(np.abs(x) < np.finfo(np.float32).tiny, np.copysign(0.0, x), rounded)
    with np.errstate(over="ignore"):
        return rounded.astype(np.float32).astype(np.float64)  # past float's range: infinity


def bfloat16_operand(values):
    """A matrix product's operand as a bfloat16 model reads it: stored as float32, rounded."""
    return round_to_bfloat16(np.asarray(values, dtype=np.float64).astype(np.float32))


class ReferenceMLP:
    """`operand` is applied to both operands of every matrix product (bfloat16_operand for a
    bfloat16 model); biases, activations, their derivatives and the loss never see it."""

    def __init__(self, weights, biases, hidden, output, loss, huber_delta=1.0, operand=None):
        self.W = [np.array(w, dtype=np.float64) for w in weights]
        self.b = [np.array(b, dtype=np.float64) for b in biases]
        self.hidden, self.output, self.loss_name = hidden, output, loss
        self.delta = huber_delta
        self.operand = operand if operand is not None else (lambda v: v)

    def act_of(self, layer):
        return self.output if layer == len(self.W) - 1 else self.hidden

    def forward(self, X):
        """Returns the pre-activations zs and the activations (inputs first)."""
        activations, zs = [np.asarray(X, dtype=np.float64)], []
        for layer, (W, b) in enumerate(zip(self.W, self.b)):
            z = self.operand(activations[-1]) @ self.operand(W) + b
            zs.append(z)
            activations.append(activate(self.act_of(layer), z))
        return zs, activations

    def predict(self, X):
        return self.forward(X)[1][-1]

    def targets(self, T):
        T = np.asarray(T)
        if T.ndim == 1 and self.loss_name == "softmax_ce":
            return one_hot(T, self.W[-1].shape[1])
        return T.reshape(len(T), -1).astype(np.float64)

    def loss(self, X, T):
        y, t = self.predict(X), self.targets(T)
        if self.loss_name == "mse":
            per_sample = 0.5 * ((y - t) ** 2).sum(axis=1)
        elif self.loss_name == "huber":
            d = np.abs(y - t)
            per_sample = np.where(d <= self.delta, 0.5 * d * d,
                                  self.delta * (d - 0.5 * self.delta)).sum(axis=1)
        elif self.loss_name == "softmax_ce":
            per_sample = -(t * np.log(y)).sum(axis=1)
        elif self.loss_name == "poisson":  # half the deviance: t log(t / y) - t + y
            per_sample = (np.where(t > 0, t * np.log(np.where(t > 0, t, 1) / y), 0) - t + y
                          ).sum(axis=1)
        else:
            per_sample = -(t * np.log(y) + (1 - t) * np.log(1 - y)).sum(axis=1)
        return per_sample.mean()

    def gradients(self, X, T):
        zs, activations = self.forward(X)
        y, t, n = activations[-1], self.targets(T), len(X)
        # dL/dz of the output layer, written out per loss without the canonical-link shortcut
        if self.loss_name == "mse":
            delta = (y - t) * derivative(self.output, zs[-1])
        elif self.loss_name == "huber":
            delta = np.clip(y - t, -self.delta, self.delta) * derivative(self.output, zs[-1])
        elif self.loss_name == "softmax_ce":
            grad_y = -t / y
            delta = y * (grad_y - (grad_y * y).sum(axis=1, keepdims=True))
        elif self.loss_name == "poisson":
            delta = (1 - t / y) * derivative("exp", zs[-1])
        else:
            grad_y = -t / y + (1 - t) / (1 - y)
            delta = grad_y * derivative("sigmoid", zs[-1])
        delta = delta / n
        dW, db = [None] * len(self.W), [None] * len(self.W)
        for layer in reversed(range(len(self.W))):
            dW[layer] = self.operand(activations[layer]).T @ self.operand(delta)
            db[layer] = delta.sum(axis=0)
            if layer > 0:
                delta = ((self.operand(delta) @ self.operand(self.W[layer]).T) *
                         derivative(self.hidden, zs[layer - 1]))
        return dW, db

    def sgd_step(self, X, T, lr, momentum=0.0, velocity=None):
        loss = self.loss(X, T)
        dW, db = self.gradients(X, T)
        if velocity is None:
            velocity = ([np.zeros_like(w) for w in self.W], [np.zeros_like(b) for b in self.b])
        for layer in range(len(self.W)):
            velocity[0][layer] = momentum * velocity[0][layer] - lr * dW[layer]
            velocity[1][layer] = momentum * velocity[1][layer] - lr * db[layer]
            self.W[layer] += velocity[0][layer]
            self.b[layer] += velocity[1][layer]
        return loss, velocity
