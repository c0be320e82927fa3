// Forward-pass GEMM tiles: bias and activation before the one store.
// AVX-512 (64-byte vectors, 12-row tile) build of gemm_forward.inc.
#define FASTBP_ISA avx512
#include "gemm_forward.inc"
