// GEMM kernels for the portable level: 16-byte vectors, 6-row register tile.
#define FASTBP_ISA_NAMESPACE portable
#define FASTBP_VECTOR_BYTES 16
#define FASTBP_GEMM_MR 6
#include "gemm_microkernel.inc"

namespace fastbp::kernels {

KernelSet portable_kernels() {
  return KernelSet{"portable", portable::make_gemm_kernel<float>(),
                   portable::make_gemm_kernel<double>()};
}

}  // namespace fastbp::kernels
