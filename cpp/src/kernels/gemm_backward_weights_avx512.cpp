// Backward-weights GEMM tiles: gradient, SGD, momentum or an optimizer step.
// AVX-512 (64-byte vectors, 12-row tile) build of gemm_backward_weights.inc.
#define FASTBP_ISA avx512
#include "gemm_backward_weights.inc"
