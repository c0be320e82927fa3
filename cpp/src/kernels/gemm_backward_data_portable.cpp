// Backward-data GEMM tiles: the activation derivative before the one store.
// Portable (16-byte vectors, 6-row tile) build of gemm_backward_data.inc.
#define FASTBP_ISA portable
#include "gemm_backward_data.inc"
