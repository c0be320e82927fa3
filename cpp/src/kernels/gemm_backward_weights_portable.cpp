// Backward-weights GEMM tiles: gradient, SGD, momentum or an optimizer step.
// Portable (16-byte vectors, 6-row tile) build of gemm_backward_weights.inc.
#define FASTBP_ISA portable
#include "gemm_backward_weights.inc"
