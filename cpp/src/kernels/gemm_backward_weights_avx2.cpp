// Backward-weights GEMM tiles: gradient, SGD, momentum or an optimizer step.
// AVX2 + FMA (32-byte vectors, 6-row tile) build of gemm_backward_weights.inc.
#define FASTBP_ISA avx2
#include "gemm_backward_weights.inc"
