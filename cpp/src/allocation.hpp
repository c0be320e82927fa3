// Allocation of the large buffers (parameters, optimizer state, workspaces): a failure says which
// buffer and how many bytes instead of a bare std::bad_alloc.
#pragma once

#include <cstddef>
#include <new>

#include "fastbp/errors.hpp"

namespace fastbp::detail {

// v.assign(count, value), or OutOfMemoryError naming `buffer` and the bytes it needed.
template <typename Vector>
void assign_or_explain(Vector& v, std::size_t count, typename Vector::value_type value,
                       const char* buffer) {
  try {
    v.assign(count, value);
  } catch (const std::bad_alloc&) {
    throw OutOfMemoryError(buffer, count * sizeof(typename Vector::value_type));
  } catch (const std::length_error&) {
    throw OutOfMemoryError(buffer, count * sizeof(typename Vector::value_type));
  }
}

}  // namespace fastbp::detail
