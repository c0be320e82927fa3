// Operand packing for the GEMM driver.
// Portable (16-byte vectors, 6-row tile) build of pack.inc.
#define FASTBP_ISA portable
#include "pack.inc"
