// Scalar activation functions and their derivatives, shared by the reference paths and the
// kernels. Everything here has internal linkage (static): the kernel files are compiled once per
// ISA, and an inline function with external linkage could be merged across them by the linker,
// letting an AVX-512 copy run on a CPU without AVX-512.
#pragma once

#include <cmath>

#include "fastbp/activation.hpp"

namespace fastbp::detail {

template <typename T>
static inline T sigmoid(T z) {
  // Two branches so exp never overflows: for z < 0, exp(z) <= 1.
  if (z >= T(0)) return T(1) / (T(1) + std::exp(-z));
  const T e = std::exp(z);
  return e / (T(1) + e);
}

template <Activation A, typename T>
static inline T activate(T z) {
  if constexpr (A == Activation::identity) return z;
  if constexpr (A == Activation::relu) return z > T(0) ? z : T(0);
  if constexpr (A == Activation::leaky_relu) return z > T(0) ? z : T(kLeakyReluSlope) * z;
  if constexpr (A == Activation::sigmoid) return sigmoid(z);
  if constexpr (A == Activation::tanh) return std::tanh(z);
  return z;  // softmax is a row operation, handled elsewhere
}

// act'(z) written in terms of the output y = act(z): backprop only keeps outputs.
template <Activation A, typename T>
static inline T derivative_from_output(T y) {
  if constexpr (A == Activation::relu) return y > T(0) ? T(1) : T(0);
  if constexpr (A == Activation::leaky_relu) return y > T(0) ? T(1) : T(kLeakyReluSlope);
  if constexpr (A == Activation::sigmoid) return y * (T(1) - y);
  if constexpr (A == Activation::tanh) return T(1) - y * y;
  return T(1);
}

template <typename T>
static inline T activate(Activation a, T z) {
  switch (a) {
    case Activation::relu:
      return activate<Activation::relu>(z);
    case Activation::leaky_relu:
      return activate<Activation::leaky_relu>(z);
    case Activation::sigmoid:
      return activate<Activation::sigmoid>(z);
    case Activation::tanh:
      return activate<Activation::tanh>(z);
    default:
      return z;
  }
}

template <typename T>
static inline T derivative_from_output(Activation a, T y) {
  switch (a) {
    case Activation::relu:
      return derivative_from_output<Activation::relu>(y);
    case Activation::leaky_relu:
      return derivative_from_output<Activation::leaky_relu>(y);
    case Activation::sigmoid:
      return derivative_from_output<Activation::sigmoid>(y);
    case Activation::tanh:
      return derivative_from_output<Activation::tanh>(y);
    default:
      return T(1);
  }
}

}  // namespace fastbp::detail
