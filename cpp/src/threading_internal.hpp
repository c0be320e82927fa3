#pragma once

namespace fastbp::detail {

// Below this much work per thread, a fork/join of a single-pass kernel costs more than the
// second core saves.
inline constexpr double kMinFlopsPerThread = 2.0e5;

// How many threads a piece of work of this many flops should use (1 below the break-even, so
// small layers never pay for a fork/join).
int threads_for_work(double flops, double min_flops_per_thread = kMinFlopsPerThread);

}  // namespace fastbp::detail
