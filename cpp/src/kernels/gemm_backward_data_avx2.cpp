// Backward-data GEMM tiles: the activation derivative before the one store.
// AVX2 + FMA (32-byte vectors, 6-row tile) build of gemm_backward_data.inc.
#define FASTBP_ISA avx2
#include "gemm_backward_data.inc"
