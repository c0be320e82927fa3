// A network frozen for inference: a snapshot of its parameters with every weight matrix packed
// once into the matrix kernels' panels, as ONNX Runtime and oneDNN prepack constant weights.
// Network::predict packs a layer's W on each call of more than a dozen rows (unless W is under
// 4096 entries: then it is read in place), since its weights may change between calls; a
// Predictor's cannot, so it skips that copy. One sample of a model of up to 2^18 parameters
// takes the online kernels either way, which read W in place.
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
  Predictor(Predictor&&) noexcept;  // (a moved-from Predictor may only be destroyed or assigned)
  Predictor& operator=(Predictor&&) noexcept;
  Predictor(const Predictor&) = delete;
  Predictor& operator=(const Predictor&) = delete;

  const std::vector<std::ptrdiff_t>& layers() const;
  // The snapshot itself (architecture and parameters): what a copy of the predictor is built from.
  const Network<T>& network() const;
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
