// The one GEMM driver every pass goes through: C = epilogue(A @ B), with the fusion *described*
// by an Epilogue instead of hand-written per combination (forward: bias + activation; backward
// data: activation derivative; backward weights: the SGD / momentum update).
#pragma once

#include <cstddef>
#include <cstdint>

#include "fastbp/activation.hpp"

namespace fastbp::detail {

// element(i, j) = data[r(i) * row_stride + c(j) * col_stride], where r and c are the identity or
// an index array. The index arrays let the training loop read shuffled mini-batches straight out
// of the caller's data set; transposed() costs nothing, packing absorbs the layout.
template <typename T>
struct MatrixView {
  const T* data = nullptr;
  std::ptrdiff_t row_stride = 0;
  std::ptrdiff_t col_stride = 1;
  const std::int64_t* row_index = nullptr;
  const std::int64_t* col_index = nullptr;

  MatrixView transposed() const { return {data, col_stride, row_stride, col_index, row_index}; }
  std::ptrdiff_t row(std::ptrdiff_t i) const { return row_index ? row_index[i] : i; }
  std::ptrdiff_t col(std::ptrdiff_t j) const { return col_index ? col_index[j] : j; }
  const T& operator()(std::ptrdiff_t i, std::ptrdiff_t j) const {
    return data[row(i) * row_stride + col(j) * col_stride];
  }
};

template <typename T>
MatrixView<T> row_major(const T* data, std::ptrdiff_t ld, const std::int64_t* row_index = nullptr) {
  return {data, ld, 1, row_index, nullptr};
}

// Applied to every element of C once its product acc = (A @ B)(i, j) is complete:
//   v = alpha * acc + beta * C(i, j)      (C is not read when beta == 0)
//   v = act(v + bias[j])                  (bias optional; act may not be softmax)
//   v = v * act_d'(deriv_of(i, j))        (optional; the derivative taken from an output)
//   C(i, j) = v, and add_to(i, j) += v    (add_to optional: W += V for momentum)
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
