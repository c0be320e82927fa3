// Optimizer rules on whole arrays; the finite check.
// AVX-512 (64-byte vectors, 12-row tile) build of elementwise.inc.
#define FASTBP_ISA avx512
#include "elementwise.inc"
