// The first layer over sparse input: gathered forward rows, scattered weight gradient.
// Portable (16-byte vectors, 6-row tile) build of sparse.inc.
#define FASTBP_ISA portable
#include "sparse.inc"
