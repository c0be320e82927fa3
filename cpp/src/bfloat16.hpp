// Rounding float to bfloat16 precision, kept in a float: the emulated bfloat16 matrix products
// round their packed operands with it, so that a product of two rounded values (16 significant
// bits) is exact in float and only the accumulation rounds, as in vdpbf16ps.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace fastbp::detail {

// Round to nearest even on the upper 16 bits; NaN stays NaN (made quiet, so rounding cannot
// carry it into infinity), and subnormals become a zero of their sign: the hardware conversion
// treats them as zero. Written with selects, not branches, so the loop below vectorises.
inline std::uint32_t round_bits_to_bfloat16(std::uint32_t u) {
  const std::uint32_t magnitude = u & 0x7fffffffu;
  const std::uint32_t nearest = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
  const std::uint32_t quiet_nan = (u | 0x00400000u) & 0xffff0000u;
  const std::uint32_t signed_zero = u & 0x80000000u;
  const std::uint32_t finite = magnitude < 0x00800000u ? signed_zero : nearest;
  return magnitude > 0x7f800000u ? quiet_nan : finite;
}

inline float round_to_bfloat16(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  u = round_bits_to_bfloat16(u);
  std::memcpy(&x, &u, sizeof u);
  return x;
}

inline void round_to_bfloat16(float* values, std::ptrdiff_t count) {
  for (std::ptrdiff_t i = 0; i < count; ++i) values[i] = round_to_bfloat16(values[i]);
}

}  // namespace fastbp::detail
