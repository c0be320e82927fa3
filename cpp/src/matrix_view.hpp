// A strided, optionally index-gathered view of a matrix: how every GEMM operand is described.
#pragma once

#include <cstddef>
#include <cstdint>

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
  // The product reads this operand rounded to bfloat16 (MatmulPrecision::bfloat16).
  bool bfloat16 = false;
  // As B of a product: the same matrix already packed by pack_b_panels (a frozen model's
  // weights) for the kernels `panels_for` (a KernelTable); the driver reads them instead of
  // packing B when those kernels still are the running ones.
  const T* panels = nullptr;
  const void* panels_for = nullptr;

  MatrixView transposed() const {
    return {data, col_stride, row_stride, col_index, row_index, bfloat16};
  }
  MatrixView at_bfloat16(bool yes) const {
    MatrixView v = *this;
    v.bfloat16 = yes;
    return v;
  }
  MatrixView with_panels(const T* packed, const void* packed_for) const {
    MatrixView v = *this;
    v.panels = packed;
    v.panels_for = packed_for;
    return v;
  }
  std::ptrdiff_t row(std::ptrdiff_t i) const { return row_index ? row_index[i] : i; }
  std::ptrdiff_t col(std::ptrdiff_t j) const { return col_index ? col_index[j] : j; }
  // The element as stored (the reference GEMM rounds it itself).
  const T& operator()(std::ptrdiff_t i, std::ptrdiff_t j) const {
    return data[row(i) * row_stride + col(j) * col_stride];
  }
};

}  // namespace fastbp::detail
