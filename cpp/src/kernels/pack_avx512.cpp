// Operand packing for the GEMM driver.
// AVX-512 (64-byte vectors, 12-row tile) build of pack.inc.
#define FASTBP_ISA avx512
#include "pack.inc"
