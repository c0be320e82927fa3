// The precision of a network's matrix products.
#pragma once

namespace fastbp {

enum class MatmulPrecision {
  native,  // operands in the network's type T
  // Operands rounded to bfloat16 (round to nearest even, subnormals flushed to zero, as
  // vcvtneps2bf16 and vdpbf16ps do), products accumulated in float: the operands of PyTorch's
  // CPU autocast to bfloat16, which also rounds the products' results. Parameters, optimizer
  // state, biases, products' results, the loss and every epilogue stay float.
  // Float networks only.
  bfloat16,
};

}  // namespace fastbp
