// Backward-data GEMM tiles: the activation derivative before the one store.
// AVX-512 (64-byte vectors, 12-row tile) build of gemm_backward_data.inc.
#define FASTBP_ISA avx512
#include "gemm_backward_data.inc"
