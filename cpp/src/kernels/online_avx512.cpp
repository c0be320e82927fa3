// Online (batch-1) training steps.
// AVX-512 (64-byte vectors, 12-row tile) build of online.inc.
#define FASTBP_ISA avx512
#include "online.inc"
