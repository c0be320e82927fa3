// Fused dense-layer operations for people who write their own training loops.
// Every matrix is row-major and contiguous; x is (n, n_in), W is (n_in, n_out), b is (n_out).
#pragma once

#include <cstddef>

#include "fastbp/activation.hpp"

namespace fastbp {

// a = act(x @ W + b), bias and activation applied in the GEMM epilogue. softmax is row-wise.
template <typename T>
void dense_forward(std::ptrdiff_t n, std::ptrdiff_t n_in, std::ptrdiff_t n_out, const T* x,
                   const T* W, const T* b, Activation activation, T* a);

// Given grad_a = dL/da and the layer's stored output a = act(x @ W + b):
// grad_x = dL/dx (n, n_in), grad_W = dL/dW (n_in, n_out), grad_b = dL/db (n_out).
template <typename T>
void dense_backward(std::ptrdiff_t n, std::ptrdiff_t n_in, std::ptrdiff_t n_out, const T* grad_a,
                    const T* x, const T* W, const T* a, Activation activation, T* grad_x, T* grad_W,
                    T* grad_b);

// As dense_backward, but W and b take the SGD step (W -= lr * grad_W, b -= lr * grad_b) inside
// the weight-gradient computation; grad_x uses W from before the step.
template <typename T>
void dense_backward_sgd(std::ptrdiff_t n, std::ptrdiff_t n_in, std::ptrdiff_t n_out,
                        const T* grad_a, const T* x, T* W, T* b, const T* a, Activation activation,
                        T lr, T* grad_x);

}  // namespace fastbp
