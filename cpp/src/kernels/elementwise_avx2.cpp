// Optimizer rules on whole arrays; the finite check.
// AVX2 + FMA (32-byte vectors, 6-row tile) build of elementwise.inc.
#define FASTBP_ISA avx2
#include "elementwise.inc"
