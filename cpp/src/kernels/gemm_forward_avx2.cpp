// Forward-pass GEMM tiles: bias and activation before the one store.
// AVX2 + FMA (32-byte vectors, 6-row tile) build of gemm_forward.inc.
#define FASTBP_ISA avx2
#include "gemm_forward.inc"
