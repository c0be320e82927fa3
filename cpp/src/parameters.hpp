// The parameters of a network: W[0], b[0], W[1], b[1], ... in one buffer that never moves, each
// array starting on a cache line (the padding stays zero). W[l] is row-major
// (layers[l], layers[l+1]); b[l] has layers[l+1] entries.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "aligned_allocator.hpp"
#include "allocation.hpp"
#include "architecture.hpp"
#include "descriptors.hpp"
#include "random.hpp"

namespace fastbp::detail {

template <typename T>
struct Parameters {
  std::vector<std::size_t> weight_offset, bias_offset;
  AlignedVector<T> values;

  // Lays out the arrays for `layers` and allocates them, zeroed. Throws std::invalid_argument
  // before allocating anything when the sizes would overflow.
  explicit Parameters(const std::vector<std::ptrdiff_t>& layers) {
    std::size_t total = 0;
    const std::size_t max_params =
        std::size_t(std::numeric_limits<std::ptrdiff_t>::max()) / 2 / sizeof(T);
    constexpr std::size_t line = kCacheLine / sizeof(T);
    const auto align_up = [](std::size_t n) { return (n + line - 1) / line * line; };
    for (std::size_t l = 0; l + 1 < layers.size(); ++l) {
      const std::size_t a = std::size_t(layers[l]), c = std::size_t(layers[l + 1]);
      if (a > max_params / c || a * c + c + 2 * line > max_params - total)
        throw std::invalid_argument("layers: the network has too many parameters to allocate");
      weight_offset.push_back(total);
      total = align_up(total + a * c);
      bias_offset.push_back(total);
      total = align_up(total + c);
    }
    assign_or_explain(values, total, T(0), "the network's parameters");
  }

  T* W(std::size_t l) { return values.data() + weight_offset[l]; }
  const T* W(std::size_t l) const { return values.data() + weight_offset[l]; }
  T* b(std::size_t l) { return values.data() + bias_offset[l]; }
  const T* b(std::size_t l) const { return values.data() + bias_offset[l]; }

  // Uniform weights, reproducible from the seed: He (sqrt(6 / fan_in)) for rectifier-like
  // activations, Glorot (sqrt(6 / (fan_in + fan_out))) otherwise, as each activation's
  // descriptor says; biases zero.
  void initialise(const Architecture& arch, std::uint64_t seed) {
    SplitMix64 rng(seed);
    for (std::size_t l = 0; l < arch.n_weight_layers(); ++l) {
      const double fan_in = double(arch.layers[l]), fan_out = double(arch.layers[l + 1]);
      const double limit = init_of(arch.activation_of(l)) == Init::he
                               ? std::sqrt(6.0 / fan_in)
                               : std::sqrt(6.0 / (fan_in + fan_out));
      T* w = W(l);
      for (std::ptrdiff_t i = 0; i < arch.layers[l] * arch.layers[l + 1]; ++i)
        w[i] = T((2.0 * rng.uniform() - 1.0) * limit);
    }
  }
};

}  // namespace fastbp::detail
