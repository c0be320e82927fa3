// The buffers of a training step, sized for `capacity` samples and reused by every step: no
// allocation in a steady-state step.
#pragma once

#include <cstddef>
#include <vector>

#include "aligned_allocator.hpp"
#include "allocation.hpp"
#include "architecture.hpp"
#include "descriptors.hpp"

namespace fastbp::detail {

template <typename T>
struct Workspace {
  std::ptrdiff_t capacity = 0;
  std::vector<T*> outputs;         // layer l's output, (capacity x layers[l+1])
  std::vector<T*> preactivations;  // layer l's pre-activation where the hidden activation's
                                   // derivative needs it, else null
  T* delta[2] = {nullptr, nullptr};  // two buffers of (capacity x widest output)
  T* bias_gradient = nullptr;        // the widest output
  T* row_gradient = nullptr;         // the widest output, for the online kernels' rule updates

  void reserve(const Architecture& arch, std::ptrdiff_t n) {
    if (n <= capacity) return;
    const std::size_t L = arch.n_weight_layers();
    const bool keep_z = derivative_needs_input(arch.hidden);
    // Every buffer starts on a cache line, as separate aligned allocations would.
    constexpr std::size_t line = kCacheLine / sizeof(T);
    const auto align_up = [](std::size_t count) { return (count + line - 1) / line * line; };
    const std::size_t widest = align_up(std::size_t(arch.widest_output()));
    const std::size_t delta_size = align_up(std::size_t(n) * widest);
    std::size_t outs = 0, zs = 0;
    for (std::size_t l = 0; l < L; ++l) {
      outs += align_up(std::size_t(n * arch.layers[l + 1]));
      if (keep_z && l + 1 < L) zs += align_up(std::size_t(n * arch.layers[l + 1]));
    }
    assign_or_explain(output_storage, outs, T(0), "the training workspace (layer outputs)");
    assign_or_explain(preactivation_storage, zs, T(0),
                      "the training workspace (pre-activations)");
    assign_or_explain(delta_storage, 2 * delta_size, T(0),
                      "the training workspace (deltas)");
    assign_or_explain(row_storage, 2 * widest, T(0), "the training workspace (rows)");
    outputs.assign(L, nullptr);
    preactivations.assign(L, nullptr);
    for (std::size_t l = 0, out = 0, z = 0; l < L; ++l) {
      outputs[l] = output_storage.data() + out;
      out += align_up(std::size_t(n * arch.layers[l + 1]));
      if (keep_z && l + 1 < L) {
        preactivations[l] = preactivation_storage.data() + z;
        z += align_up(std::size_t(n * arch.layers[l + 1]));
      }
    }
    delta[0] = delta_storage.data();
    delta[1] = delta_storage.data() + delta_size;
    bias_gradient = row_storage.data();
    row_gradient = row_storage.data() + widest;
    capacity = n;
  }

 private:
  AlignedVector<T> output_storage, preactivation_storage, delta_storage, row_storage;
};

}  // namespace fastbp::detail
