// The first layer over sparse input: gathered forward rows, scattered weight gradient.
// AVX-512 (64-byte vectors, 12-row tile) build of sparse.inc.
#define FASTBP_ISA avx512
#include "sparse.inc"
