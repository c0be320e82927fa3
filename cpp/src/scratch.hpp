// Grow-only, 64-byte aligned scratch buffers owned by the calling thread: after the first call
// of a given size, a train step allocates nothing.
#pragma once

#include <cstddef>
#include <new>

namespace fastbp::detail {

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer() { release(); }

  // Through operator new, so the allocation-counting test sees these too.
  void* reserve(std::size_t bytes) {
    if (bytes > capacity_) {
      const std::size_t rounded = (bytes + 63) / 64 * 64;
      void* fresh = ::operator new(rounded, kAlignment);
      release();
      data_ = fresh;
      capacity_ = rounded;
    }
    return data_;
  }

 private:
  static constexpr std::align_val_t kAlignment{64};
  void release() {
    if (data_) ::operator delete(data_, kAlignment);
  }
  void* data_ = nullptr;
  std::size_t capacity_ = 0;
};

enum class ScratchSlot { packed_a, packed_b, b_edge, count };

template <typename T>
T* thread_scratch(ScratchSlot slot, std::size_t count) {
  thread_local AlignedBuffer buffers[int(ScratchSlot::count)];
  return static_cast<T*>(buffers[int(slot)].reserve(count * sizeof(T)));
}

}  // namespace fastbp::detail
