// What a network is, apart from its numbers: the layer sizes, the activations and the loss.
#pragma once

#include <cstddef>
#include <vector>

#include "fastbp/activation.hpp"

namespace fastbp::detail {

struct Architecture {
  std::vector<std::ptrdiff_t> layers;  // {n_in, h1, ..., n_out}
  Activation hidden = Activation::relu, output = Activation::identity;
  LossFunction loss;
  bool bfloat16_operands = false;  // MatmulPrecision::bfloat16

  std::size_t n_weight_layers() const { return layers.size() - 1; }
  Activation activation_of(std::size_t l) const {
    return l + 1 == n_weight_layers() ? output : hidden;
  }
  std::ptrdiff_t widest() const {
    std::ptrdiff_t w = 0;
    for (std::ptrdiff_t size : layers) w = size > w ? size : w;
    return w;
  }
  // The widest layer output: what deltas and gradient rows need (no delta has the input's
  // width, which for sparse input can be a million columns).
  std::ptrdiff_t widest_output() const {
    std::ptrdiff_t w = 0;
    for (std::size_t l = 1; l < layers.size(); ++l) w = layers[l] > w ? layers[l] : w;
    return w;
  }
};

}  // namespace fastbp::detail
