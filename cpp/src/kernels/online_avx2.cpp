// Online (batch-1) training steps.
// AVX2 + FMA (32-byte vectors, 6-row tile) build of online.inc.
#define FASTBP_ISA avx2
#include "online.inc"
