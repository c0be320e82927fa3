// A multilayer perceptron trained by backpropagation: the network/training layer of fastbp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "fastbp/activation.hpp"
#include "fastbp/errors.hpp"
#include "fastbp/optimizer.hpp"

namespace fastbp {

// Targets for n samples: either a row-major (n, n_out) matrix, or (softmax_ce only) class labels.
template <typename T>
struct Targets {
  const T* values = nullptr;
  const std::int64_t* labels = nullptr;
};

// A held-out set evaluated after every epoch of fit.
template <typename T>
struct ValidationSet {
  const T* X = nullptr;
  std::ptrdiff_t n = 0;
  Targets<T> targets;
};

struct FitOptions {
  int epochs = 10;
  std::ptrdiff_t batch_size = 32;
  Optimizer optimizer;  // plain SGD, lr 0.01
  LearningRateSchedule schedule;
  bool shuffle = true;
  std::uint64_t seed = 0;
  // Early stopping when patience > 0: training stops once the monitored loss (validation loss
  // with a validation set, else training loss) has not improved by more than tol for `patience`
  // epochs in a row; with restore_best the weights of the best epoch are put back at the end.
  int patience = 0;
  double tol = 1e-4;
  bool restore_best = true;
};

struct EpochLog {
  int epoch = 0;             // 1-based
  double loss = 0;           // mean training loss over the epoch's samples, before each step
  double val_loss = 0;       // NaN without a validation set
  double val_accuracy = 0;   // NaN without a validation set or for regression
  double seconds = 0;        // wall time of the epoch's training (validation excluded)
  double learning_rate = 0;  // the rate this epoch trained with
  bool best = false;         // the monitored loss improved on every earlier epoch by more than tol
};

// Called after each epoch; returning false stops training.
using EpochCallback = std::function<bool(const EpochLog&)>;
// Called between mini-batches, about every 10 ms whatever the batch size (to answer an interrupt
// quickly); an exception it throws stops training after a whole batch and propagates.
using BatchCheck = std::function<void()>;

template <typename T>
class Network {
 public:
  // layers = {n_in, h1, ..., n_out}. Weights are initialised He-uniform for rectifier-like
  // activations (relu, leaky_relu, elu, softplus, silu, gelu), Glorot-uniform otherwise,
  // biases zero, reproducibly from seed. `loss` is a Loss, or a LossFunction with a parameter
  // (Huber's delta).
  Network(std::vector<std::ptrdiff_t> layers, Activation hidden, Activation output,
          LossFunction loss, std::uint64_t seed);
  ~Network();
  Network(Network&&) noexcept;
  Network& operator=(Network&&) noexcept;
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  const std::vector<std::ptrdiff_t>& layers() const;
  std::size_t n_weight_layers() const;
  Activation hidden() const;
  Activation output() const;
  Loss loss_kind() const;
  const LossFunction& loss_function() const;

  // All parameters live in one buffer that never moves: W[0], b[0], W[1], b[1], ..., each
  // starting on a 64-byte boundary (weight_offset / bias_offset; the padding stays zero).
  // W[l] is row-major (layers[l], layers[l+1]); b[l] has layers[l+1] entries.
  T* parameters();
  const T* parameters() const;
  std::size_t n_parameters() const;
  std::size_t weight_offset(std::size_t l) const;
  std::size_t bias_offset(std::size_t l) const;

  // out is (n, n_out). Safe to call from several threads at once; a call made while the model
  // trains (fit, train_step, gradients: serialised among themselves) waits for that call to
  // finish, except from the training thread itself (an epoch callback).
  void predict(const T* X, std::ptrdiff_t n, T* out) const;
  // Mean loss over the n samples.
  double loss(const T* X, std::ptrdiff_t n, const Targets<T>& targets) const;
  // Gradient of the mean loss, laid out like parameters(); returns the loss. Model unchanged.
  double gradients(const T* X, std::ptrdiff_t n, const Targets<T>& targets, T* grad);
  // One fused SGD step (with classical momentum when momentum > 0); returns the loss before it.
  // Throws DivergenceError, leaving the model unchanged, when that loss is not finite.
  double train_step(const T* X, std::ptrdiff_t n, const Targets<T>& targets, T learning_rate,
                    T momentum = T(0));
  // One step of any optimizer; its state (velocity, moments, step sizes) persists between
  // steps and fit calls until the optimizer kind changes or reset_optimizer is called.
  double train_step(const T* X, std::ptrdiff_t n, const Targets<T>& targets,
                    const Optimizer& optimizer);
  void reset_optimizer();
  // Mini-batch training over shuffled index permutations; the last partial batch is trained.
  // Throws DivergenceError naming the epoch and batch when a loss is not finite.
  std::vector<EpochLog> fit(const T* X, std::ptrdiff_t n, const Targets<T>& targets,
                            const FitOptions& options, const ValidationSet<T>* validation = nullptr,
                            const EpochCallback& on_epoch = nullptr,
                            const BatchCheck& between_batches = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

extern template class Network<float>;
extern template class Network<double>;

}  // namespace fastbp
