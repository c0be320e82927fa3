// GEMM kernels for the avx2 level: 32-byte vectors, 6-row register tile.
#define FASTBP_ISA_NAMESPACE avx2
#define FASTBP_VECTOR_BYTES 32
#define FASTBP_GEMM_MR 6
#include "gemm_microkernel.inc"

namespace fastbp::kernels {

KernelSet avx2_kernels() {
  return KernelSet{"avx2", avx2::make_gemm_kernel<float>(), avx2::make_gemm_kernel<double>()};
}

}  // namespace fastbp::kernels
