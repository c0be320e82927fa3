// std::vector storage on 64-byte (cache line, AVX-512 register) boundaries: with malloc's 16-byte
// alignment every vector load of a weight row can straddle two cache lines, which measured as
// a 1.5x slower online step (mnist-online: 78k vs 113k samples/s, depending on the address).
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace fastbp::detail {

inline constexpr std::size_t kCacheLine = 64;

template <typename T>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() noexcept = default;
  template <typename U>
  AlignedAllocator(const AlignedAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(kCacheLine)));
  }
  void deallocate(T* p, std::size_t) noexcept {
    ::operator delete(p, std::align_val_t(kCacheLine));
  }
  template <typename U>
  bool operator==(const AlignedAllocator<U>&) const noexcept {
    return true;
  }
  template <typename U>
  bool operator!=(const AlignedAllocator<U>&) const noexcept {
    return false;
  }
};

template <typename T>
using AlignedVector = std::vector<T, AlignedAllocator<T>>;

}  // namespace fastbp::detail
