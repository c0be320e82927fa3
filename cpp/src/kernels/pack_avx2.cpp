// Operand packing for the GEMM driver.
// AVX2 + FMA (32-byte vectors, 6-row tile) build of pack.inc.
#define FASTBP_ISA avx2
#include "pack.inc"
