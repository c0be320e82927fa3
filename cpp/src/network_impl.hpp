// The inside of Network<T>: parameters, optimizer state and the per-batch workspace, and one
// backpropagation step strung from the fused passes — forward (GEMM + bias + activation), the
// loss layer, backward-data (GEMM + activation derivative) and backward-weights (GEMM + SGD or
// momentum update in its epilogue, or any other optimizer's step on each finished tile).
// Shared by network.cpp (construction, single steps, inference) and fit.cpp (the epoch loop).
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "aligned_allocator.hpp"
#include "allocation.hpp"
#include "elementwise.hpp"
#include "fastbp/network.hpp"
#include "fastbp/threading.hpp"
#include "gemm.hpp"
#include "kernels/kernel_table.hpp"
#include "optimizer_update.hpp"
#include "random.hpp"

namespace fastbp::detail {

// Callers test first and build the message only on failure: the checks run on every step.
[[noreturn]] inline void fail(const std::string& message) {
  throw std::invalid_argument(message);
}

// Thrown by a step whose loss is not finite, before any parameter changes; train_step and fit
// turn it into a DivergenceError with their context.
struct NonFiniteLoss {
  double loss;
  std::string describe() const { return std::isnan(loss) ? "NaN" : "infinite"; }
};

template <typename T>
using AlignedVector = std::vector<T, AlignedAllocator<T>>;

enum class WeightPass {
  store_gradient,  // the gradient goes to a caller's buffer; no update
  fused_sgd,       // SGD (momentum, or weight decay without momentum) in the GEMM's epilogue
  optimizer,       // gradient buffer, then the element-wise update of the optimizer
};

// What one step does to the weights.
template <typename T>
struct StepPlan {
  WeightPass pass = WeightPass::store_gradient;
  T lr = T(0), mu = T(0);
  T keep = T(1);  // fused plain SGD with weight decay: W = keep W - lr G
  kernels::UpdateRule<T> rule{};
};

template <typename T>
struct NetworkImpl {
  std::vector<std::ptrdiff_t> layers;
  Activation hidden, output;
  Loss loss;
  std::vector<std::size_t> w_off, b_off;
  AlignedVector<T> params;  // each W[l] and b[l] starts on a cache line

  // Optimizer state laid out like params (see kernels::UpdateRule); empty until first needed
  // and cleared when the optimizer kind changes.
  AlignedVector<T> state[2];
  OptimizerKind state_kind = OptimizerKind::sgd;
  long long steps = 0;  // optimizer steps taken with this state (Adam's t)
  // C of the weight-gradient GEMM for the other optimizers: only partial sums between k-blocks
  // land here (the finished tiles go straight into the optimizer step)
  AlignedVector<T> gradient;
  // W[l], b[l], then the first and second optimizer state of W[l] and b[l]: for the online
  // kernels
  std::vector<T*> pointers[6];
  // x @ W[0] for the sample first_product_of, computed by the previous online step's update.
  AlignedVector<T> first_product;
  const T* first_product_of = nullptr;

  // Training workspace, sized for `capacity` samples and reused by every step.
  std::ptrdiff_t capacity = 0;
  AlignedVector<T> activations;   // outputs of layers 1..L, (capacity x layers[l+1]) each
  std::vector<T*> layer_outputs;  // pointers into activations
  AlignedVector<T> delta[2];
  AlignedVector<T> bias_grad;
  AlignedVector<T> row_gradient;  // one gradient row for online_backward_rule

  // Training (and gradients, which use the workspace) holds `guard` exclusively; predict and
  // loss hold it shared, so they run together but wait for a training call to finish. The
  // training thread itself may predict between epochs (from a callback) without the lock.
  mutable std::shared_mutex guard;
  std::atomic<std::thread::id> trainer{};

  std::size_t n_weight_layers() const { return layers.size() - 1; }
  Activation activation_of(std::size_t l) const {
    return l + 1 == n_weight_layers() ? output : hidden;
  }
  const T* W(std::size_t l) const { return params.data() + w_off[l]; }
  T* W(std::size_t l) { return params.data() + w_off[l]; }
  const T* b(std::size_t l) const { return params.data() + b_off[l]; }
  T* b(std::size_t l) { return params.data() + b_off[l]; }

  void initialise(std::uint64_t seed) {
    SplitMix64 rng(seed);
    for (std::size_t l = 0; l < n_weight_layers(); ++l) {
      const double fan_in = double(layers[l]), fan_out = double(layers[l + 1]);
      const Activation act = activation_of(l);
      // He for rectifiers, Glorot otherwise (both the uniform variants).
      const bool rectifier = act == Activation::relu || act == Activation::leaky_relu;
      const double limit =
          rectifier ? std::sqrt(6.0 / fan_in) : std::sqrt(6.0 / (fan_in + fan_out));
      T* w = W(l);
      for (std::ptrdiff_t i = 0; i < layers[l] * layers[l + 1]; ++i)
        w[i] = T((2.0 * rng.uniform() - 1.0) * limit);
    }
  }

  bool trained_by_this_thread() const { return trainer.load() == std::this_thread::get_id(); }

  // Batch-1 steps go through the online kernels (single-threaded) unless the network is large
  // enough for the threaded GEMMs to win: up to 2^18 parameters, W stays in L2.
  bool use_online_kernels() const {
    return params.size() <= (std::size_t(1) << 18) || get_num_threads() == 1;
  }

  void check_targets(std::ptrdiff_t n, const Targets<T>& t) const {
    if ((t.values != nullptr) == (t.labels != nullptr))
      fail("targets: give exactly one of a target matrix or class labels");
    if (t.labels) {
      if (loss != Loss::softmax_ce)
        fail(std::string("targets: class labels need loss 'softmax_ce', "
                         "the network's loss is '") +
             to_string(loss) + "'");
      const std::int64_t classes = layers.back();
      for (std::ptrdiff_t i = 0; i < n; ++i)
        if (t.labels[i] < 0 || t.labels[i] >= classes)
          fail("targets: class label " + std::to_string(t.labels[i]) + " at sample " +
               std::to_string(i) + " is outside [0, " + std::to_string(classes) + ")");
    }
  }

  void check_input(const T* X, std::ptrdiff_t n) const {
    if (n <= 0) fail("X: expected at least one sample, got " + std::to_string(n));
    if (X == nullptr) fail("X: null data pointer");
    // Every (n x width) buffer the network indexes must be addressable.
    std::ptrdiff_t widest = 0;
    for (std::ptrdiff_t w : layers) widest = std::max(widest, w);
    if (n > std::numeric_limits<std::ptrdiff_t>::max() / std::ptrdiff_t(sizeof(T)) / widest)
      fail("X: " + std::to_string(n) + " samples overflow the size of the network's buffers");
  }

  // Forgets velocity, moments, step sizes and Adam's step count (memory released).
  void clear_optimizer_state() {
    for (auto& s : state) AlignedVector<T>().swap(s);
    steps = 0;
  }

  // Gets the optimizer state ready for `o` and says what the next step does.
  StepPlan<T> plan_step(const Optimizer& o, double learning_rate) {
    if (o.kind != state_kind) {
      clear_optimizer_state();
      state_kind = o.kind;
    }
    const bool sgd = o.kind == OptimizerKind::sgd;
    const bool needs_first = !sgd || o.momentum != 0;
    if (needs_first && state[0].empty()) {
      assign_or_explain(state[0], params.size(), T(0), "the optimizer state");
      for (std::size_t l = 0; l < n_weight_layers(); ++l) {
        pointers[2][l] = state[0].data() + w_off[l];
        pointers[3][l] = state[0].data() + b_off[l];
      }
    }
    if (!sgd && state[1].empty()) {
      assign_or_explain(state[1], params.size(),
                        o.kind == OptimizerKind::rprop ? T(o.step_init) : T(0),
                        "the optimizer state");
      for (std::size_t l = 0; l < n_weight_layers(); ++l) {
        pointers[4][l] = state[1].data() + w_off[l];
        pointers[5][l] = state[1].data() + b_off[l];
      }
    }
    StepPlan<T> plan;
    plan.lr = T(learning_rate);
    plan.mu = T(o.momentum);
    plan.rule = update_rule<T>(o, learning_rate, steps + 1);  // for the online kernels too
    if (sgd && !o.nesterov && (o.momentum == 0 || o.weight_decay == 0)) {
      plan.pass = WeightPass::fused_sgd;
      plan.keep = T(1) - T(learning_rate) * T(o.weight_decay);
      return plan;
    }
    plan.pass = WeightPass::optimizer;
    if (gradient.empty())
      assign_or_explain(gradient, params.size(), T(0), "the gradient buffer");
    return plan;
  }

  void ensure_workspace(std::ptrdiff_t n) {
    if (n <= capacity) return;
    std::size_t total = 0;
    std::ptrdiff_t widest = 0;
    for (std::size_t l = 0; l < n_weight_layers(); ++l) {
      total += std::size_t(n * layers[l + 1]);
      widest = std::max(widest, layers[l + 1]);
    }
    assign_or_explain(activations, total, T(0), "the training workspace (layer outputs)");
    layer_outputs.resize(n_weight_layers());
    for (std::size_t l = 0, offset = 0; l < n_weight_layers(); ++l) {
      layer_outputs[l] = activations.data() + offset;
      offset += std::size_t(n * layers[l + 1]);
    }
    for (auto& d : delta)
      assign_or_explain(d, std::size_t(n * widest), T(0), "the training workspace (deltas)");
    bias_grad.assign(std::size_t(widest), T(0));
    row_gradient.assign(std::size_t(widest), T(0));
    capacity = n;
  }

  // Forward through all layers for n samples (rows[i] of X, or row i). Layer l's output goes to
  // out[l]; the last layer leaves its pre-activations when `leave_logits`, for the loss layer.
  void forward(const T* X, const std::int64_t* rows, std::ptrdiff_t n, T* const* out,
               bool leave_logits) const {
    const std::size_t L = n_weight_layers();
    for (std::size_t l = 0; l < L; ++l) {
      const MatrixView<T> in =
          l == 0 ? row_major(X, layers[0], rows) : row_major<T>(out[l - 1], layers[l]);
      Epilogue<T> ep;
      ep.bias = b(l);
      const Activation act = activation_of(l);
      const bool last = l + 1 == L;
      ep.activation =
          (last && (leave_logits || act == Activation::softmax)) ? Activation::identity : act;
      gemm<T>(n, layers[l + 1], layers[l], in, row_major(W(l), layers[l + 1]), out[l],
              layers[l + 1], ep);
      if (last && !leave_logits && act == Activation::softmax)
        activate_inplace(act, n, layers[l + 1], out[l]);
    }
  }

  // One step on a single sample, in the online kernels: fused SGD/momentum, or any other
  // optimizer row by row (`rule`). With next_x (the sample fit trains next) the fused SGD
  // update of the first layer also computes next_x @ W[0] for that step.
  double online_step(const kernels::GemmKernel<T>& kern, const T* x, const std::int64_t* rows,
                     const Targets<T>& t, const StepPlan<T>& plan, const T* next_x) {
    const std::size_t L = n_weight_layers();
    const bool fused = plan.pass == WeightPass::fused_sgd;
    const bool first_state = fused ? plan.mu != T(0) : !state[0].empty();
    const bool second_state = !fused && !state[1].empty();
    const kernels::OnlineNet<T> net{L,
                                    layers.data(),
                                    pointers[0].data(),
                                    pointers[1].data(),
                                    first_state ? pointers[2].data() : nullptr,
                                    first_state ? pointers[3].data() : nullptr,
                                    second_state ? pointers[4].data() : nullptr,
                                    second_state ? pointers[5].data() : nullptr,
                                    row_gradient.data(),
                                    hidden,
                                    output,
                                    layer_outputs.data(),
                                    {delta[0].data(), delta[1].data()}};
    kern.online_forward(net, x, first_product_of == x ? first_product.data() : nullptr);
    T* output_delta = bias_grad.data();
    const double loss_value =
        output_loss(output, loss, 1, layers[L], layer_outputs[L - 1], t, rows, output_delta, T(1));
    if (!std::isfinite(loss_value)) {
      first_product_of = nullptr;
      throw NonFiniteLoss{loss_value};
    }
    if (fused) {
      kern.online_backward(net, x, output_delta, plan.lr, plan.mu, next_x, first_product.data());
      first_product_of = next_x;
    } else {
      kern.online_backward_rule(net, x, output_delta, plan.rule);
      first_product_of = nullptr;
      ++steps;
    }
    return loss_value;
  }

  // The weight pass of layer l: dz (n x n_out) and the layer's input give the gradient.
  void update_layer(std::size_t l, std::ptrdiff_t n, const MatrixView<T>& input, const T* dz_data,
                    const StepPlan<T>& plan, T* grad) {
    const std::ptrdiff_t n_in = layers[l], n_out = layers[l + 1];
    const MatrixView<T> dz = row_major<T>(dz_data, n_out);
    column_sums(n, n_out, dz_data, bias_grad.data());
    Epilogue<T> ep;
    T* bias = b(l);
    switch (plan.pass) {
      case WeightPass::store_gradient:
        gemm<T>(n_in, n_out, n, input.transposed(), dz, grad + w_off[l], n_out, ep);
        std::copy(bias_grad.begin(), bias_grad.begin() + n_out, grad + b_off[l]);
        break;
      case WeightPass::fused_sgd:
        if (plan.mu == T(0)) {
          ep.alpha = -plan.lr;  // W = keep W - lr x.T @ delta, inside the GEMM
          ep.beta = plan.keep;
          gemm<T>(n_in, n_out, n, input.transposed(), dz, W(l), n_out, ep);
          for (std::ptrdiff_t j = 0; j < n_out; ++j) bias[j] -= plan.lr * bias_grad[j];
        } else {
          ep.alpha = -plan.lr;  // V = mu V - lr g, then W += V, inside the GEMM
          ep.beta = plan.mu;
          ep.add_to = W(l);
          ep.add_to_ld = n_out;
          T* v = state[0].data();
          gemm<T>(n_in, n_out, n, input.transposed(), dz, v + w_off[l], n_out, ep);
          T* vb = v + b_off[l];
          for (std::ptrdiff_t j = 0; j < n_out; ++j) {
            vb[j] = plan.mu * vb[j] - plan.lr * bias_grad[j];
            bias[j] += vb[j];
          }
        }
        break;
      case WeightPass::optimizer: {
        T* g = gradient.data();
        T* s1 = state[0].empty() ? nullptr : state[0].data();
        T* s2 = state[1].empty() ? nullptr : state[1].data();
        const auto at = [](T* base, std::size_t offset) { return base ? base + offset : nullptr; };
        ep.update = &plan.rule;  // the step taken on each finished gradient tile
        ep.param = W(l);
        ep.state1 = at(s1, w_off[l]);
        ep.state2 = at(s2, w_off[l]);
        gemm<T>(n_in, n_out, n, input.transposed(), dz, g + w_off[l], n_out, ep);
        apply_update(plan.rule, bias, bias_grad.data(), at(s1, b_off[l]), at(s2, b_off[l]), n_out,
                     /*decay=*/false);
        break;
      }
    }
  }

  // One backpropagation pass over n samples; returns the mean loss. With an updating plan a
  // non-finite loss throws NonFiniteLoss before anything changes. next_row: the sample fit
  // trains right after this one, for the online path's fusion.
  double backprop(const T* X, const std::int64_t* rows, std::ptrdiff_t n, const Targets<T>& t,
                  const StepPlan<T>& plan, T* grad, const std::int64_t* next_row = nullptr) {
    ensure_workspace(n);
    const std::size_t L = n_weight_layers();
    const kernels::GemmKernel<T>& kern = kernels::gemm_kernel<T>();
    if (n == 1 && plan.pass != WeightPass::store_gradient && use_online_kernels()) {
      // Plain SGD with weight decay has no fused online kernel; it goes row by row.
      StepPlan<T> online = plan;
      if (plan.pass == WeightPass::fused_sgd && plan.keep != T(1))
        online.pass = WeightPass::optimizer;
      return online_step(kern, X + (rows ? rows[0] : 0) * layers[0], rows, t, online,
                         next_row ? X + *next_row * layers[0] : nullptr);
    }
    first_product_of = nullptr;

    T* const* outs = layer_outputs.data();
    forward(X, rows, n, outs, /*leave_logits=*/true);

    T* d_cur = delta[0].data();
    T* d_next = delta[1].data();
    const double loss_sum =
        output_loss(output, loss, n, layers[L], outs[L - 1], t, rows, d_cur, T(1) / T(n));
    if (plan.pass != WeightPass::store_gradient && !std::isfinite(loss_sum))
      throw NonFiniteLoss{loss_sum / double(n)};

    for (std::size_t l = L; l-- > 0;) {
      const std::ptrdiff_t n_in = layers[l], n_out = layers[l + 1];
      // Backward-data first: it must see W[l] from before this step's update.
      if (l > 0) {
        Epilogue<T> ep;
        ep.deriv_of = outs[l - 1];
        ep.deriv_ld = n_in;
        ep.deriv_activation = hidden;
        gemm<T>(n, n_in, n_out, row_major<T>(d_cur, n_out), row_major(W(l), n_out).transposed(),
                d_next, n_in, ep);
      }
      const MatrixView<T> input =
          l == 0 ? row_major(X, n_in, rows) : row_major<T>(outs[l - 1], n_in);
      update_layer(l, n, input, d_cur, plan, grad);
      std::swap(d_cur, d_next);
    }
    if (plan.pass == WeightPass::optimizer) ++steps;
    return loss_sum / double(n);
  }

  // Forward in chunks so a large X needs only chunk-sized intermediate buffers.
  template <typename Consume>
  void predict_chunks(std::ptrdiff_t n, T* out_all, Consume&& consume) const {
    const std::size_t L = n_weight_layers();
    const std::ptrdiff_t chunk = std::min<std::ptrdiff_t>(n, 1024);
    std::vector<std::size_t> off(L);
    std::size_t total = 0;
    for (std::size_t l = 0; l + 1 < L; ++l) {
      off[l] = total;
      total += std::size_t(chunk * layers[l + 1]);
    }
    std::vector<T> buffer;
    assign_or_explain(buffer, total, T(0), "the inference workspace");
    std::vector<T*> outs(L);
    for (std::ptrdiff_t start = 0; start < n; start += chunk) {
      const std::ptrdiff_t rows = std::min(chunk, n - start);
      for (std::size_t l = 0; l + 1 < L; ++l) outs[l] = buffer.data() + off[l];
      outs[L - 1] = out_all + start * layers[L];
      consume(start, rows, outs.data());
    }
  }

  void predict(const T* X, std::ptrdiff_t n, T* out) const {
    predict_chunks(n, out, [&](std::ptrdiff_t start, std::ptrdiff_t rows, T* const* outs) {
      forward(X + start * layers[0], nullptr, rows, outs, /*leave_logits=*/false);
    });
  }

  double mean_loss(const T* X, std::ptrdiff_t n, const Targets<T>& targets) const {
    const std::ptrdiff_t n_out = layers.back();
    std::vector<T> logits;
    assign_or_explain(logits, std::size_t(n * n_out), T(0), "the outputs of the loss evaluation");
    double total = 0;
    predict_chunks(n, logits.data(),
                   [&](std::ptrdiff_t start, std::ptrdiff_t rows, T* const* outs) {
                     forward(X + start * layers[0], nullptr, rows, outs, /*leave_logits=*/true);
                     Targets<T> shifted = targets;
                     if (shifted.values) shifted.values += start * n_out;
                     if (shifted.labels) shifted.labels += start;
                     total += output_loss(output, loss, rows, n_out, outs[n_weight_layers() - 1],
                                          shifted, nullptr, static_cast<T*>(nullptr), T(0));
                   });
    return total / double(n);
  }
};

// Holds a model's training lock for one training call, and records the thread so that the
// call's own callbacks may predict. A second training call from that thread (a callback that
// trains the model it is called from) is refused instead of deadlocking.
template <typename T>
class TrainingLock {
 public:
  explicit TrainingLock(NetworkImpl<T>& m) : m_(m) {
    if (m.trained_by_this_thread())
      throw std::logic_error(
          "this model is already being trained by this thread (a fit "
          "callback cannot train or take gradients of its own model)");
    m.guard.lock();
    m.trainer.store(std::this_thread::get_id());
  }
  ~TrainingLock() {
    m_.trainer.store(std::thread::id());
    m_.guard.unlock();
  }
  TrainingLock(const TrainingLock&) = delete;
  TrainingLock& operator=(const TrainingLock&) = delete;

 private:
  NetworkImpl<T>& m_;
};

// Shared lock for inference, skipped by the thread that holds the training lock.
template <typename T>
class InferenceLock {
 public:
  explicit InferenceLock(const NetworkImpl<T>& m) : lock_(m.guard, std::defer_lock) {
    if (!m.trained_by_this_thread()) lock_.lock();
  }

 private:
  std::shared_lock<std::shared_mutex> lock_;
};

}  // namespace fastbp::detail

namespace fastbp {
template <typename T>
struct Network<T>::Impl : detail::NetworkImpl<T> {};
}  // namespace fastbp
