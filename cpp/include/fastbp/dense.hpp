// Fused dense-layer operations for people who write their own training loops.
// Every matrix is row-major and contiguous; x is (n, n_in), W is (n_in, n_out), b is (n_out).
#pragma once

#include <cstddef>

#include "fastbp/activation.hpp"

namespace fastbp {

// a = act(x @ W + b), bias and activation applied in the GEMM epilogue. softmax is row-wise.
// With z not null, the pre-activation x @ W + b is stored there too (n, n_out): the backward
// step of an activation whose derivative needs it (silu, gelu, gelu_tanh) takes it.
template <typename T>
void dense_forward(std::ptrdiff_t n, std::ptrdiff_t n_in, std::ptrdiff_t n_out, const T* x,
                   const T* W, const T* b, Activation activation, T* a, T* z = nullptr);

// Given grad_a = dL/da, the layer's stored output a = act(x @ W + b) and, for silu, gelu and
// gelu_tanh, its pre-activation z (else it may be null):
// grad_x = dL/dx (n, n_in), grad_W = dL/dW (n_in, n_out), grad_b = dL/db (n_out).
// Throws std::invalid_argument when the activation needs z and it is null.
template <typename T>
void dense_backward(std::ptrdiff_t n, std::ptrdiff_t n_in, std::ptrdiff_t n_out, const T* grad_a,
                    const T* x, const T* W, const T* a, Activation activation, T* grad_x, T* grad_W,
                    T* grad_b, const T* z = nullptr);

// As dense_backward, but W and b take the SGD step (W -= lr * grad_W, b -= lr * grad_b) inside
// the weight-gradient computation; grad_x uses W from before the step.
template <typename T>
void dense_backward_sgd(std::ptrdiff_t n, std::ptrdiff_t n_in, std::ptrdiff_t n_out,
                        const T* grad_a, const T* x, T* W, T* b, const T* a, Activation activation,
                        T lr, T* grad_x, const T* z = nullptr);

}  // namespace fastbp
