// The exceptions of the library beyond std::invalid_argument (bad arguments, named).
#pragma once

#include <cstddef>
#include <new>
#include <stdexcept>
#include <string>

namespace fastbp {

// A training step met a NaN or infinite loss. train_step leaves the model as it was; fit puts
// back the weights from the start of the current epoch (or, for epochs shorter than 4096
// samples, of a recent one) and resets the optimizer state.
class DivergenceError : public std::runtime_error {
 public:
  DivergenceError(const std::string& message, int epoch, std::ptrdiff_t batch)
      : std::runtime_error(message), epoch_(epoch), batch_(batch) {}
  int epoch() const { return epoch_; }             // 1-based; 0 outside fit
  std::ptrdiff_t batch() const { return batch_; }  // 1-based within the epoch; 0 outside fit

 private:
  int epoch_;
  std::ptrdiff_t batch_;
};

// An allocation failed: what() names the buffer and its size in bytes. A std::bad_alloc, so code
// that catches that still does (and pybind11 turns it into a Python MemoryError with this text).
class OutOfMemoryError : public std::bad_alloc {
 public:
  OutOfMemoryError(const std::string& buffer, std::size_t bytes);
  const char* what() const noexcept override { return message_.c_str(); }
  std::size_t bytes() const { return bytes_; }

 private:
  std::string message_;
  std::size_t bytes_;
};

}  // namespace fastbp
