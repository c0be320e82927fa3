// A network frozen for inference: a snapshot of its parameters with every weight matrix packed
// once into the matrix kernels' panels, as ONNX Runtime and oneDNN prepack constant weights.
// Network::predict packs W on every call, since its weights may change between calls (training,
// or writes through parameters()); a Predictor's cannot, so it skips that copy of W per layer.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "fastbp/network.hpp"

namespace fastbp {

template <typename T>
class Predictor {
 public:
  // The network as it is now: later changes to it do not reach the predictor (build a new one).
  // Waits for a training call on the network to finish, as predict does.
  explicit Predictor(const Network<T>& network);
  ~Predictor();
  Predictor(Predictor&&) noexcept;
  Predictor& operator=(Predictor&&) noexcept;
  Predictor(const Predictor&) = delete;
  Predictor& operator=(const Predictor&) = delete;

  const std::vector<std::ptrdiff_t>& layers() const;
  // Network<T>::predict of the snapshot: out is (n, n_out). Safe to call from several threads at
  // once. After set_simd_level chooses other kernels, the weights are packed per call again.
  void predict(Inputs<T> X, std::ptrdiff_t n, T* out) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

extern template class Predictor<float>;
extern template class Predictor<double>;

}  // namespace fastbp
