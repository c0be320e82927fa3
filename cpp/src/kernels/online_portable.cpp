// Online (batch-1) training steps.
// Portable (16-byte vectors, 6-row tile) build of online.inc.
#define FASTBP_ISA portable
#include "online.inc"
