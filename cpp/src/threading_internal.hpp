#pragma once

namespace fastbp::detail {

// How many threads a piece of work of this many flops should use (1 below the measured
// break-even, so small layers never pay for a fork/join).
int threads_for_work(double flops);

}  // namespace fastbp::detail
