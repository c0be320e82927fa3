// Optimizer rules on whole arrays; the finite check.
// Portable (16-byte vectors, 6-row tile) build of elementwise.inc.
#define FASTBP_ISA portable
#include "elementwise.inc"
