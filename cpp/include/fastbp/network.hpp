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
#include "fastbp/data_parallel.hpp"
#include "fastbp/errors.hpp"
#include "fastbp/optimizer.hpp"
#include "fastbp/precision.hpp"

namespace fastbp {

// Targets for n samples: either a row-major (n, n_out) matrix, or (softmax_ce only) class labels.
template <typename T>
struct Targets {
  const T* values = nullptr;
  const std::int64_t* labels = nullptr;
  // Optional per-sample weights (finite, >= 0), one per row of X: a batch's loss is then
  // sum_i w_i L_i / sum_i w_i and its gradient the gradient of that, scikit-learn's L2 term is
  // divided by sum_i w_i instead of the row count, and validation figures are weighted.
  // A batch whose weights are all zero has loss 0 and a zero gradient: plain SGD leaves the
  // weights as they are, optimizers with state (momentum, Adam, ...) still take their step.
  const T* weights = nullptr;
};

// A sparse matrix's rows in compressed sparse row form (scipy's CSR): row i holds
// values[indptr[i] .. indptr[i+1]) at the columns indices[...]. indptr[0] is 0 and never
// decreases; columns may come in any order, and a repeated column adds up.
template <typename T>
struct SparseRows {
  const std::int64_t* indptr = nullptr;
  const std::int64_t* indices = nullptr;
  const T* values = nullptr;
};

// The samples a call reads: a dense row-major matrix (a pointer converts implicitly, as every
// call took before sparse input) or sparse rows. Sparse rows go through a sparse first layer: the
// forward product gathers the rows of W[0] the nonzeros select, and the weight gradient touches
// only those rows. Plain SGD then steps only those rows; an update that moves every row each step
// (weight decay, momentum, Adam and the other optimizers with state) takes one more pass over
// W[0] and its state, so the result is the dense input's (up to rounding: the sums run in
// another order).
template <typename T>
struct Inputs {
  using Self = Inputs;  // for function templates that deduce T elsewhere (a non-deduced context)
  const T* dense = nullptr;
  SparseRows<T> sparse;
  Inputs() = default;
  Inputs(const T* x) : dense(x) {}  // NOLINT: implicit, like std::string_view from a pointer
  Inputs(const SparseRows<T>& x) : sparse(x) {}  // NOLINT
  bool is_sparse() const { return sparse.indptr != nullptr; }
};

// A held-out set evaluated after every epoch of fit.
template <typename T>
struct ValidationSet {
  Inputs<T> X;
  std::ptrdiff_t n = 0;
  Targets<T> targets;
};

// How fit decides that training has stopped improving, for early stopping and the plateau
// schedule.
enum class StoppingRule {
  // An epoch improves when the monitored value beats the best so far by more than tol; training
  // stops after `patience` epochs in a row without improvement (patience 0: never). The plateau
  // schedule keeps a count of its own (its patience, factor, tol and min_lr).
  patience,
  // scikit-learn's MLP: a count of epochs that did not beat the best by more than tol, reset by
  // one that did; the best moves whenever it is beaten, by any amount. Once the count exceeds
  // `patience` (scikit-learn's n_iter_no_change), training stops, unless the schedule is plateau
  // (scikit-learn's "adaptive") and the rate is above min_lr: then the rate is multiplied by
  // factor and the count starts again.
  sklearn,
};

// What early stopping and the plateau schedule watch.
enum class Monitor {
  automatic,            // the validation loss with a validation set, else the training loss
  training_loss,        // the reported training loss (see loss_scale and l2)
  validation_loss,
  validation_accuracy,  // higher is better; softmax: argmax; sigmoid: every output right
  validation_r2,        // higher is better; R^2 averaged over the outputs
};

// What carries over from one fit call to the next when training continues (scikit-learn's
// partial_fit and warm start): pass the same object to every call.
struct TrainingProgress {
  double samples_seen = 0;  // the invscaling schedule's t
  // The rate the next epoch trains with, for the schedules that carry one (invscaling, plateau);
  // < 0: the optimizer's. (scikit-learn's warm start sets it back to the initial rate.)
  double learning_rate = -1;
  double best = 0;  // the best monitored value so far (scores negated), if has_best
  bool has_best = false;
  int epochs_without_improvement = 0;
  bool converged = false;  // out: the last call stopped because the monitored value stalled
};

struct FitOptions {
  int epochs = 10;
  std::ptrdiff_t batch_size = 32;
  Optimizer optimizer;  // plain SGD, lr 0.01
  LearningRateSchedule schedule;
  bool shuffle = true;
  std::uint64_t seed = 0;
  // Early stopping (see StoppingRule): with restore_best, the weights of the best epoch are put
  // back at the end.
  StoppingRule stopping = StoppingRule::patience;
  Monitor monitor = Monitor::automatic;
  int patience = 0;
  double tol = 1e-4;
  bool restore_best = true;
  // scikit-learn's L2 penalty alpha: each batch of `rows` samples adds alpha/2 |W|^2 / rows to its
  // loss (with the weights before its step) and alpha W / rows to its gradient; biases are exempt.
  double l2 = 0.0;
  // The reported training loss is the mean loss times loss_scale, plus the l2 term
  // (scikit-learn's regressor reports the squared error averaged over the outputs too).
  double loss_scale = 1.0;
  // A NaN or infinite batch loss throws DivergenceError with the weights put back; false trains
  // on through it (scikit-learn's estimators, which then refuse non-finite weights).
  bool stop_on_divergence = true;
};

struct EpochLog {
  int epoch = 0;             // 1-based
  double loss = 0;           // training loss over the epoch's samples, before each step
  double val_loss = 0;       // NaN without a validation set
  double val_accuracy = 0;   // NaN without a validation set or for regression (per output for
                             // sigmoid outputs)
  double val_score = 0;      // the monitored validation accuracy or R^2; NaN otherwise
  double seconds = 0;        // wall time of the epoch's training (validation excluded)
  double learning_rate = 0;  // the rate this epoch trained with
  bool best = false;         // the monitored value improved on every earlier epoch by more than tol
};

// Called after each epoch; returning false stops training.
using EpochCallback = std::function<bool(const EpochLog&)>;
// Called between mini-batches, about every 10 ms whatever the batch size (to answer an interrupt
// quickly); an exception it throws stops training after a whole batch and propagates.
using BatchCheck = std::function<void()>;

template <typename T>
class Predictor;

template <typename T>
class Network {
 public:
  // layers = {n_in, h1, ..., n_out}. Weights are initialised He-uniform for rectifier-like
  // activations (relu, leaky_relu, elu, softplus, silu, gelu), Glorot-uniform otherwise,
  // biases zero, reproducibly from seed. `loss` is a Loss, or a LossFunction with a parameter
  // (Huber's delta). `precision` bfloat16 (float networks only, else std::invalid_argument):
  // see MatmulPrecision; such a network takes dense X only.
  Network(std::vector<std::ptrdiff_t> layers, Activation hidden, Activation output,
          LossFunction loss, std::uint64_t seed,
          MatmulPrecision precision = MatmulPrecision::native);
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
  MatmulPrecision matmul_precision() const;

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
  void predict(Inputs<T> X, std::ptrdiff_t n, T* out) const;
  // Mean loss over the n samples.
  double loss(Inputs<T> X, std::ptrdiff_t n, const Targets<T>& targets) const;
  // Gradient of the mean loss, laid out like parameters(); returns the loss. Model unchanged.
  double gradients(Inputs<T> X, std::ptrdiff_t n, const Targets<T>& targets, T* grad);
  // Copies `values` (laid out like parameters()) into the parameters, as a training call: no
  // predict or loss on another thread sees them half written.
  void set_parameters(const T* values);
  // set_parameters(values), then gradients(...), as one training call (full-batch optimizers
  // outside fastbp: fastbp/objective.hpp).
  double gradients_at(const T* values, Inputs<T> X, std::ptrdiff_t n, const Targets<T>& targets,
                      T* grad);
  // One fused SGD step (with classical momentum when momentum > 0); returns the loss before it.
  // Throws DivergenceError, leaving the model unchanged, when that loss is not finite.
  double train_step(Inputs<T> X, std::ptrdiff_t n, const Targets<T>& targets, T learning_rate,
                    T momentum = T(0));
  // One step of any optimizer; its state (velocity, moments, step sizes) persists between
  // steps and fit calls until the optimizer kind changes or reset_optimizer is called.
  double train_step(Inputs<T> X, std::ptrdiff_t n, const Targets<T>& targets,
                    const Optimizer& optimizer);
  void reset_optimizer();
  // One step of `optimizer` from a gradient computed elsewhere (laid out like parameters(),
  // e.g. gradients() summed over processes and divided by their rows), with the element-wise
  // rule of the fused steps; the optimizer state persists as for train_step.
  void apply_gradient(const T* gradient, const Optimizer& optimizer);
  // Mini-batch training over shuffled index permutations; the last partial batch is trained.
  // Throws DivergenceError naming the epoch and batch when a loss is not finite.
  // `progress` carries the schedule and stopping state into and out of the call (null: a fresh
  // start). With `replicas`, this process is one of several training the same model
  // (fastbp/data_parallel.hpp): the epochs' figures, early stopping, divergence and a callback
  // or interrupt that stops training are decided the same on every process.
  std::vector<EpochLog> fit(Inputs<T> X, std::ptrdiff_t n, const Targets<T>& targets,
                            const FitOptions& options, const ValidationSet<T>* validation = nullptr,
                            const EpochCallback& on_epoch = nullptr,
                            const BatchCheck& between_batches = nullptr,
                            TrainingProgress* progress = nullptr,
                            const DataParallel<T>* replicas = nullptr);

 private:
  template <typename>
  friend class Predictor;  // (fastbp/predictor.hpp) runs the snapshot's forward pass
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

extern template class Network<float>;
extern template class Network<double>;

}  // namespace fastbp
