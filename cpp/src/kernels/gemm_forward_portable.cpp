// Forward-pass GEMM tiles: bias and activation before the one store.
// Portable (16-byte vectors, 6-row tile) build of gemm_forward.inc.
#define FASTBP_ISA portable
#include "gemm_forward.inc"
