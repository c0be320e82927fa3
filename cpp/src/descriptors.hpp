// The descriptors (cpp/src/descriptors/) for code compiled at the baseline ISA: the loss layer,
// the name tables, initialisation, the scalar reference kernels. The SIMD kernels include the
// same files inside their own ISA namespace, so no copy compiled with wide-ISA flags can be
// linked in here.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "fastbp/activation.hpp"
#include "fastbp/optimizer.hpp"
#include "kernels/kernel_table.hpp"

namespace fastbp::detail {

using kernels::kMaxStateArrays;
using kernels::StatePointers;
using kernels::UpdateRule;

#include "kernels/scalar_math.inc"
#include "descriptors/activations.inc"
#include "descriptors/optimizers.inc"

}  // namespace fastbp::detail
