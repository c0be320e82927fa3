// The one GEMM driver every pass goes through: C = epilogue(A @ B), with the fusion *described*
// by an Epilogue instead of hand-written per combination (forward: bias + activation; backward
// data: activation derivative; backward weights: the SGD / momentum update, or any optimizer's
// update applied tile by tile).
#pragma once

#include <cstddef>
#include <cstdint>

#include "fastbp/activation.hpp"
#include "kernels/kernel_table.hpp"
#include "matrix_view.hpp"

namespace fastbp::detail {

template <typename T>
MatrixView<T> row_major(const T* data, std::ptrdiff_t ld, const std::int64_t* row_index = nullptr) {
  return {data, ld, 1, row_index, nullptr};
}

// Applied to every element of C once its product acc = (A @ B)(i, j) is complete:
//   v = alpha * acc + beta * C(i, j)      (C is not read when beta == 0)
//   v = act(v + bias[j])                  (bias optional; act may not be softmax)
//   v = v * act_d'(deriv_of(i, j))        (optional; the derivative taken from an output)
//   C(i, j) = v, and add_to(i, j) += v    (add_to optional: W += V for momentum)
// With `update`, each finished tile of the product (the gradient) takes the optimizer step on
// the same tile of `param` (laid out like C) and its state arrays straight from registers; C
// only holds partial sums between k-blocks and is never written when k fits one block. Not
// supported by gemm_reference (the network tests check this path against an independent NumPy
// optimizer).
template <typename T>
struct Epilogue {
  T alpha = T(1);
  T beta = T(0);
  const T* bias = nullptr;
  Activation activation = Activation::identity;
  const T* deriv_of = nullptr;
  std::ptrdiff_t deriv_ld = 0;
  Activation deriv_activation = Activation::identity;
  T* add_to = nullptr;
  std::ptrdiff_t add_to_ld = 0;
  const kernels::UpdateRule<T>* update = nullptr;
  T* param = nullptr;
  T* state1 = nullptr;
  T* state2 = nullptr;
};

// C is (m, n) row-major with leading dimension ldc; A is (m, k), B is (k, n).
template <typename T>
void gemm(std::ptrdiff_t m, std::ptrdiff_t n, std::ptrdiff_t k, const MatrixView<T>& a,
          const MatrixView<T>& b, T* c, std::ptrdiff_t ldc, const Epilogue<T>& epilogue);

// The plain triple loop with the same epilogue: what the fast path is tested against.
template <typename T>
void gemm_reference(std::ptrdiff_t m, std::ptrdiff_t n, std::ptrdiff_t k, const MatrixView<T>& a,
                    const MatrixView<T>& b, T* c, std::ptrdiff_t ldc, const Epilogue<T>& epilogue);

}  // namespace fastbp::detail
