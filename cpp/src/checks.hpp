// The C++ API's argument checks: every bad argument is a std::invalid_argument naming it, thrown
// before anything is allocated or changed. (The Python package checks NumPy-level properties in
// python/fastbp/_validation.py first; these still guard every call into the core.)
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include "architecture.hpp"
#include "fastbp/network.hpp"

namespace fastbp::detail {

// Callers test first and build the message only on failure: the checks run on every step.
[[noreturn]] inline void fail(const std::string& message) {
  throw std::invalid_argument(message);
}

inline void check_architecture(const Architecture& arch) {
  if (arch.layers.size() < 2)
    fail("layers: expected at least 2 sizes [n_in, ..., n_out], got " +
         std::to_string(arch.layers.size()));
  for (std::size_t i = 0; i < arch.layers.size(); ++i)
    if (arch.layers[i] < 1)
      fail("layers: every size must be >= 1, got " + std::to_string(arch.layers[i]) +
           " at position " + std::to_string(i));
  if (arch.hidden == Activation::softmax || arch.hidden == Activation::exp)
    fail(std::string("hidden: ") + to_string(arch.hidden) +
         " is only allowed as the output activation");
  check_output_loss_pairing(arch.output, arch.loss, long(arch.layers.back()));
}

inline void check_input(const Architecture& arch, const void* X, std::ptrdiff_t n,
                        std::size_t element_size) {
  if (n <= 0) fail("X: expected at least one sample, got " + std::to_string(n));
  if (X == nullptr) fail("X: null data pointer");
  // Every (n x width) buffer the network indexes must be addressable.
  if (n > std::numeric_limits<std::ptrdiff_t>::max() / std::ptrdiff_t(element_size) / arch.widest())
    fail("X: " + std::to_string(n) + " samples overflow the size of the network's buffers");
}

// Dense X as above; sparse X's structure too, so a bad index can never read outside W[0]:
// O(nonzeros), against the O(nonzeros x width) of the pass that follows.
template <typename T>
void check_input(const Architecture& arch, const Inputs<T>& X, std::ptrdiff_t n) {
  if (!X.is_sparse()) return check_input(arch, X.dense, n, sizeof(T));
  if (arch.bfloat16_operands)
    fail("X: a model with bfloat16 matrix products takes dense X, got a sparse matrix");
  check_input(arch, X.sparse.indptr, n, sizeof(T));
  const SparseRows<T>& x = X.sparse;
  if (x.indptr[0] != 0)
    fail("X: a sparse matrix's indptr must start at 0, got " + std::to_string(x.indptr[0]));
  for (std::ptrdiff_t i = 0; i < n; ++i)
    if (x.indptr[i + 1] < x.indptr[i])
      fail("X: a sparse matrix's indptr must not decrease, got " + std::to_string(x.indptr[i]) +
           " then " + std::to_string(x.indptr[i + 1]) + " at row " + std::to_string(i));
  const std::int64_t nnz = x.indptr[n];
  if (nnz > 0 && (x.indices == nullptr || x.values == nullptr))
    fail("X: a sparse matrix with " + std::to_string(nnz) + " stored values has null data");
  const std::int64_t columns = arch.layers[0];
  for (std::int64_t k = 0; k < nnz; ++k)
    if (x.indices[k] < 0 || x.indices[k] >= columns)
      fail("X: column index " + std::to_string(x.indices[k]) +
           " of a stored value is outside [0, " + std::to_string(columns) + ")");
}

template <typename T>
void check_targets(const Architecture& arch, std::ptrdiff_t n, const Targets<T>& t) {
  if ((t.values != nullptr) == (t.labels != nullptr))
    fail("targets: give exactly one of a target matrix or class labels");
  if (t.labels) {
    if (arch.loss.kind != Loss::softmax_ce)
      fail(std::string("targets: class labels need loss 'softmax_ce', the network's loss is '") +
           to_string(arch.loss.kind) + "'");
    const std::int64_t classes = arch.layers.back();
    for (std::ptrdiff_t i = 0; i < n; ++i)
      if (t.labels[i] < 0 || t.labels[i] >= classes)
        fail("targets: class label " + std::to_string(t.labels[i]) + " at sample " +
             std::to_string(i) + " is outside [0, " + std::to_string(classes) + ")");
  }
  if (t.values && arch.loss.kind == Loss::bce) {
    const std::ptrdiff_t width = arch.layers.back();
    for (std::ptrdiff_t i = 0; i < n * width; ++i)
      if (!(t.values[i] >= 0 && t.values[i] <= 1))
        fail("targets: bce targets must lie in [0, 1], got " + std::to_string(double(t.values[i])) +
             " at sample " + std::to_string(i / width));
  }
  if (t.values && arch.loss.kind == Loss::poisson)
    for (std::ptrdiff_t i = 0; i < n * arch.layers.back(); ++i)
      if (!(t.values[i] >= 0))
        fail("targets: poisson targets must be >= 0 (counts or rates), got " +
             std::to_string(double(t.values[i])) + " at sample " +
             std::to_string(i / arch.layers.back()));
  if (t.weights)
    for (std::ptrdiff_t i = 0; i < n; ++i)
      if (!(std::isfinite(t.weights[i]) && t.weights[i] >= 0))
        fail("sample weights: expected finite values >= 0, got " +
             std::to_string(double(t.weights[i])) + " at sample " + std::to_string(i));
}

}  // namespace fastbp::detail
