// The first layer over sparse input: gathered forward rows, scattered weight gradient.
// AVX2 + FMA (32-byte vectors, 6-row tile) build of sparse.inc.
#define FASTBP_ISA avx2
#include "sparse.inc"
