// GEMM kernels for the avx512 level: 64-byte vectors, 12-row register tile.
#define FASTBP_ISA_NAMESPACE avx512
#define FASTBP_VECTOR_BYTES 64
#define FASTBP_GEMM_MR 12
#include "gemm_microkernel.inc"

namespace fastbp::kernels {

KernelSet avx512_kernels() {
  return KernelSet{"avx512", avx512::make_gemm_kernel<float>(), avx512::make_gemm_kernel<double>()};
}

}  // namespace fastbp::kernels
