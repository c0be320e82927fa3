// The network/training layer: owns the parameters and the per-batch workspace, and strings the
// fused passes together — forward (GEMM + bias + activation), the loss layer, backward-data
// (GEMM + activation derivative) and backward-weights (GEMM + SGD/momentum update).
#include "fastbp/network.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <string>

#include "aligned_allocator.hpp"
#include "elementwise.hpp"
#include "fastbp/threading.hpp"
#include "gemm.hpp"
#include "kernels/kernel_table.hpp"
#include "random.hpp"

namespace fastbp {
namespace {

// Callers test first and build the message only on failure: the checks run on every step.
[[noreturn]] void fail(const std::string& message) {
  throw std::invalid_argument(message);
}

enum class WeightPass { store_gradient, sgd };

// Runs a check about every 10 ms: reading the clock on every batch would cost a fifth of a
// 100 ns online step, so the number of batches between clock reads adapts instead.
class CheckInterval {
 public:
  template <typename Check>
  void tick(const Check& check) {
    if (++batches_ < stride_) return;
    batches_ = 0;
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    if (elapsed < 0.005 && stride_ < (1 << 20)) stride_ *= 2;
    if (elapsed > 0.02 && stride_ > 1) stride_ /= 2;
    if (elapsed >= 0.005) {
      last_ = now;
      check();
    }
  }

 private:
  std::int64_t batches_ = 0, stride_ = 1;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

}  // namespace

template <typename T>
using AlignedVector = std::vector<T, detail::AlignedAllocator<T>>;

template <typename T>
struct Network<T>::Impl {
  std::vector<std::ptrdiff_t> layers;
  Activation hidden, output;
  Loss loss;
  std::vector<std::size_t> w_off, b_off;
  AlignedVector<T> params;    // each W[l] and b[l] starts on a cache line
  AlignedVector<T> velocity;  // momentum state, laid out like params; empty until first needed
  // W[l], b[l], velocity of W[l], velocity of b[l]: for the online kernels
  std::vector<T*> pointers[4];
  // x @ W[0] for the sample first_product_of, computed by the previous online step's update.
  AlignedVector<T> first_product;
  const T* first_product_of = nullptr;

  // Batch-1 steps go through the online kernels (single-threaded) unless the network is large
  // enough for the threaded GEMMs to win: up to 2^18 parameters, W stays in L2.
  bool use_online_kernels() const {
    return params.size() <= (std::size_t(1) << 18) || get_num_threads() == 1;
  }

  // Training workspace, sized for `capacity` samples and reused by every step.
  std::ptrdiff_t capacity = 0;
  AlignedVector<T> activations;   // outputs of layers 1..L, (capacity x layers[l+1]) each
  std::vector<T*> layer_outputs;  // pointers into activations
  AlignedVector<T> delta[2];
  AlignedVector<T> bias_grad;
  std::mutex training;  // one train_step/fit at a time on a model

  std::size_t n_weight_layers() const { return layers.size() - 1; }
  Activation activation_of(std::size_t l) const {
    return l + 1 == n_weight_layers() ? output : hidden;
  }
  const T* W(std::size_t l) const { return params.data() + w_off[l]; }
  T* W(std::size_t l) { return params.data() + w_off[l]; }
  const T* b(std::size_t l) const { return params.data() + b_off[l]; }
  T* b(std::size_t l) { return params.data() + b_off[l]; }

  void initialise(std::uint64_t seed) {
    detail::SplitMix64 rng(seed);
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

  void ensure_workspace(std::ptrdiff_t n) {
    if (n <= capacity) return;
    std::size_t total = 0;
    std::ptrdiff_t widest = 0;
    for (std::size_t l = 0; l < n_weight_layers(); ++l) {
      total += std::size_t(n * layers[l + 1]);
      widest = std::max(widest, layers[l + 1]);
    }
    activations.assign(total, T(0));
    layer_outputs.resize(n_weight_layers());
    for (std::size_t l = 0, offset = 0; l < n_weight_layers(); ++l) {
      layer_outputs[l] = activations.data() + offset;
      offset += std::size_t(n * layers[l + 1]);
    }
    delta[0].assign(std::size_t(n * widest), T(0));
    delta[1].assign(std::size_t(n * widest), T(0));
    bias_grad.assign(std::size_t(widest), T(0));
    capacity = n;
  }

  // Forward through all layers for n samples (rows[i] of X, or row i). Layer l's output goes to
  // out[l]; the last layer leaves its pre-activations when `leave_logits`, for the loss layer.
  void forward(const T* X, const std::int64_t* rows, std::ptrdiff_t n, T* const* out,
               bool leave_logits) const {
    const std::size_t L = n_weight_layers();
    for (std::size_t l = 0; l < L; ++l) {
      const detail::MatrixView<T> in = l == 0 ? detail::row_major(X, layers[0], rows)
                                              : detail::row_major<T>(out[l - 1], layers[l]);
      detail::Epilogue<T> ep;
      ep.bias = b(l);
      const Activation act = activation_of(l);
      const bool last = l + 1 == L;
      ep.activation =
          (last && (leave_logits || act == Activation::softmax)) ? Activation::identity : act;
      detail::gemm<T>(n, layers[l + 1], layers[l], in, detail::row_major(W(l), layers[l + 1]),
                      out[l], layers[l + 1], ep);
      if (last && !leave_logits && act == Activation::softmax)
        detail::activate_inplace(act, n, layers[l + 1], out[l]);
    }
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
  }

  // One SGD step on a single sample, in the online kernels. With next_x (the sample fit trains
  // next) the first layer's update also computes next_x @ W[0] for that step.
  double online_step(const kernels::GemmKernel<T>& kern, const T* x, const std::int64_t* rows,
                     const Targets<T>& t, T lr, T mu, const T* next_x) {
    const std::size_t L = n_weight_layers();
    const kernels::OnlineNet<T> net{L,
                                    layers.data(),
                                    pointers[0].data(),
                                    pointers[1].data(),
                                    mu != T(0) ? pointers[2].data() : nullptr,
                                    mu != T(0) ? pointers[3].data() : nullptr,
                                    hidden,
                                    output,
                                    layer_outputs.data(),
                                    {delta[0].data(), delta[1].data()}};
    kern.online_forward(net, x, first_product_of == x ? first_product.data() : nullptr);
    T* output_delta = bias_grad.data();
    const double loss_value = detail::output_loss(output, loss, 1, layers[L], layer_outputs[L - 1],
                                                  t, rows, output_delta, T(1));
    kern.online_backward(net, x, output_delta, lr, mu, next_x, first_product.data());
    first_product_of = next_x;
    return loss_value;
  }

  // One backpropagation pass over n samples; the weight pass either stores the gradient into
  // grad (laid out like params) or applies SGD with momentum mu. Returns the mean loss.
  // next_row: the sample fit trains right after this one, for the online path's fusion.
  double backprop(const T* X, const std::int64_t* rows, std::ptrdiff_t n, const Targets<T>& t,
                  WeightPass pass, T lr, T mu, T* grad, const std::int64_t* next_row = nullptr) {
    ensure_workspace(n);
    const std::size_t L = n_weight_layers();
    const bool momentum = pass == WeightPass::sgd && mu != T(0);
    if (momentum && velocity.empty()) {
      velocity.assign(params.size(), T(0));
      for (std::size_t l = 0; l < L; ++l) {
        pointers[2][l] = velocity.data() + w_off[l];
        pointers[3][l] = velocity.data() + b_off[l];
      }
    }
    const kernels::GemmKernel<T>& kern = kernels::gemm_kernel<T>();
    if (n == 1 && pass == WeightPass::sgd && use_online_kernels())
      return online_step(kern, X + (rows ? rows[0] : 0) * layers[0], rows, t, lr, mu,
                         next_row ? X + *next_row * layers[0] : nullptr);
    first_product_of = nullptr;

    T* const* outs = layer_outputs.data();
    forward(X, rows, n, outs, /*leave_logits=*/true);

    T* d_cur = delta[0].data();
    T* d_next = delta[1].data();
    const double loss_sum =
        detail::output_loss(output, loss, n, layers[L], outs[L - 1], t, rows, d_cur, T(1) / T(n));

    for (std::size_t l = L; l-- > 0;) {
      const std::ptrdiff_t n_in = layers[l], n_out = layers[l + 1];
      // Backward-data first: it must see W[l] from before this step's update.
      if (l > 0) {
        detail::Epilogue<T> ep;
        ep.deriv_of = outs[l - 1];
        ep.deriv_ld = n_in;
        ep.deriv_activation = hidden;
        detail::gemm<T>(n, n_in, n_out, detail::row_major<T>(d_cur, n_out),
                        detail::row_major(W(l), n_out).transposed(), d_next, n_in, ep);
      }
      const detail::MatrixView<T> input =
          l == 0 ? detail::row_major(X, n_in, rows) : detail::row_major<T>(outs[l - 1], n_in);
      const detail::MatrixView<T> dz = detail::row_major<T>(d_cur, n_out);
      detail::column_sums(n, n_out, d_cur, bias_grad.data());
      detail::Epilogue<T> ep;
      if (pass == WeightPass::store_gradient) {
        detail::gemm<T>(n_in, n_out, n, input.transposed(), dz, grad + w_off[l], n_out, ep);
        std::copy(bias_grad.begin(), bias_grad.begin() + n_out, grad + b_off[l]);
      } else if (!momentum) {
        ep.alpha = -lr;  // W -= lr * x.T @ delta, inside the GEMM
        ep.beta = T(1);
        detail::gemm<T>(n_in, n_out, n, input.transposed(), dz, W(l), n_out, ep);
        T* bias = b(l);
        for (std::ptrdiff_t j = 0; j < n_out; ++j) bias[j] -= lr * bias_grad[j];
      } else {
        ep.alpha = -lr;  // V = mu V - lr g, then W += V, inside the GEMM
        ep.beta = mu;
        ep.add_to = W(l);
        ep.add_to_ld = n_out;
        detail::gemm<T>(n_in, n_out, n, input.transposed(), dz, velocity.data() + w_off[l], n_out,
                        ep);
        T* bias = b(l);
        T* vb = velocity.data() + b_off[l];
        for (std::ptrdiff_t j = 0; j < n_out; ++j) {
          vb[j] = mu * vb[j] - lr * bias_grad[j];
          bias[j] += vb[j];
        }
      }
      std::swap(d_cur, d_next);
    }
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
    std::vector<T> buffer(total);
    std::vector<T*> outs(L);
    for (std::ptrdiff_t start = 0; start < n; start += chunk) {
      const std::ptrdiff_t rows = std::min(chunk, n - start);
      for (std::size_t l = 0; l + 1 < L; ++l) outs[l] = buffer.data() + off[l];
      outs[L - 1] = out_all + start * layers[L];
      consume(start, rows, outs.data());
    }
  }
};

template <typename T>
Network<T>::Network(std::vector<std::ptrdiff_t> layers, Activation hidden, Activation output,
                    Loss loss, std::uint64_t seed)
    : impl_(std::make_unique<Impl>()) {
  if (layers.size() < 2)
    fail("layers: expected at least 2 sizes [n_in, ..., n_out], got " +
         std::to_string(layers.size()));
  for (std::size_t i = 0; i < layers.size(); ++i)
    if (layers[i] < 1)
      fail("layers: every size must be >= 1, got " + std::to_string(layers[i]) + " at position " +
           std::to_string(i));
  if (hidden == Activation::softmax)
    fail("hidden: softmax is only allowed as the output activation");
  check_output_loss_pairing(output, loss, long(layers.back()));
  Impl& m = *impl_;
  m.layers = std::move(layers);
  m.hidden = hidden;
  m.output = output;
  m.loss = loss;
  std::size_t total = 0;
  const std::size_t max_params =
      std::size_t(std::numeric_limits<std::ptrdiff_t>::max()) / 2 / sizeof(T);
  constexpr std::size_t line = detail::kCacheLine / sizeof(T);
  const auto align_up = [](std::size_t n) { return (n + line - 1) / line * line; };
  for (std::size_t l = 0; l + 1 < m.layers.size(); ++l) {
    const std::size_t a = std::size_t(m.layers[l]), c = std::size_t(m.layers[l + 1]);
    if (a > max_params / c || total > max_params - a * c - c - 2 * line)
      fail("layers: the network has too many parameters to allocate");
    m.w_off.push_back(total);
    total = align_up(total + a * c);
    m.b_off.push_back(total);
    total = align_up(total + c);
  }
  m.params.assign(total, T(0));
  m.initialise(seed);
  for (auto& p : m.pointers) p.assign(m.n_weight_layers(), nullptr);
  for (std::size_t l = 0; l < m.n_weight_layers(); ++l) {
    m.pointers[0][l] = m.W(l);
    m.pointers[1][l] = m.b(l);
  }
  m.first_product.assign(std::size_t(m.layers[1]), T(0));
}

template <typename T>
Network<T>::~Network() = default;
template <typename T>
Network<T>::Network(Network&&) noexcept = default;
template <typename T>
Network<T>& Network<T>::operator=(Network&&) noexcept = default;

template <typename T>
const std::vector<std::ptrdiff_t>& Network<T>::layers() const {
  return impl_->layers;
}
template <typename T>
std::size_t Network<T>::n_weight_layers() const {
  return impl_->n_weight_layers();
}
template <typename T>
Activation Network<T>::hidden() const {
  return impl_->hidden;
}
template <typename T>
Activation Network<T>::output() const {
  return impl_->output;
}
template <typename T>
Loss Network<T>::loss_kind() const {
  return impl_->loss;
}
template <typename T>
T* Network<T>::parameters() {
  return impl_->params.data();
}
template <typename T>
const T* Network<T>::parameters() const {
  return impl_->params.data();
}
template <typename T>
std::size_t Network<T>::n_parameters() const {
  return impl_->params.size();
}
template <typename T>
std::size_t Network<T>::weight_offset(std::size_t l) const {
  return impl_->w_off.at(l);
}
template <typename T>
std::size_t Network<T>::bias_offset(std::size_t l) const {
  return impl_->b_off.at(l);
}

template <typename T>
void Network<T>::predict(const T* X, std::ptrdiff_t n, T* out) const {
  const Impl& m = *impl_;
  m.check_input(X, n);
  m.predict_chunks(n, out, [&](std::ptrdiff_t start, std::ptrdiff_t rows, T* const* outs) {
    m.forward(X + start * m.layers[0], nullptr, rows, outs, /*leave_logits=*/false);
  });
}

template <typename T>
double Network<T>::loss(const T* X, std::ptrdiff_t n, const Targets<T>& targets) const {
  const Impl& m = *impl_;
  m.check_input(X, n);
  m.check_targets(n, targets);
  const std::ptrdiff_t n_out = m.layers.back();
  std::vector<T> logits(std::size_t(n * n_out));
  double total = 0;
  m.predict_chunks(
      n, logits.data(), [&](std::ptrdiff_t start, std::ptrdiff_t rows, T* const* outs) {
        m.forward(X + start * m.layers[0], nullptr, rows, outs, /*leave_logits=*/true);
        Targets<T> shifted = targets;
        if (shifted.values) shifted.values += start * n_out;
        if (shifted.labels) shifted.labels += start;
        total += detail::output_loss(m.output, m.loss, rows, n_out, outs[m.n_weight_layers() - 1],
                                     shifted, nullptr, static_cast<T*>(nullptr), T(0));
      });
  return total / double(n);
}

template <typename T>
double Network<T>::gradients(const T* X, std::ptrdiff_t n, const Targets<T>& targets, T* grad) {
  Impl& m = *impl_;
  m.check_input(X, n);
  m.check_targets(n, targets);
  std::lock_guard<std::mutex> lock(m.training);
  std::fill(grad, grad + m.params.size(), T(0));  // the padding between arrays too
  return m.backprop(X, nullptr, n, targets, WeightPass::store_gradient, T(0), T(0), grad);
}

template <typename T>
double Network<T>::train_step(const T* X, std::ptrdiff_t n, const Targets<T>& targets,
                              T learning_rate, T momentum) {
  Impl& m = *impl_;
  m.check_input(X, n);
  m.check_targets(n, targets);
  if (!(std::isfinite(double(learning_rate)) && learning_rate > T(0)))
    fail("lr: expected a finite learning rate > 0, got " + std::to_string(double(learning_rate)));
  if (!(momentum >= T(0) && momentum < T(1)))
    fail("momentum: expected a value in [0, 1), got " + std::to_string(double(momentum)));
  std::lock_guard<std::mutex> lock(m.training);
  return m.backprop(X, nullptr, n, targets, WeightPass::sgd, learning_rate, momentum, nullptr);
}

template <typename T>
std::vector<EpochLog> Network<T>::fit(const T* X, std::ptrdiff_t n, const Targets<T>& targets,
                                      const FitOptions& options, const ValidationSet<T>* validation,
                                      const EpochCallback& on_epoch,
                                      const BatchCheck& between_batches) {
  Impl& m = *impl_;
  m.check_input(X, n);
  m.check_targets(n, targets);
  if (options.epochs < 0) fail("epochs: expected >= 0, got " + std::to_string(options.epochs));
  if (options.batch_size < 1)
    fail("batch_size: expected >= 1, got " + std::to_string(options.batch_size));
  if (!(std::isfinite(options.learning_rate) && options.learning_rate > 0))
    fail("lr: expected a finite learning rate > 0, got " + std::to_string(options.learning_rate));
  if (!(options.momentum >= 0 && options.momentum < 1))
    fail("momentum: expected a value in [0, 1), got " + std::to_string(options.momentum));
  if (validation) {
    m.check_input(validation->X, validation->n);
    m.check_targets(validation->n, validation->targets);
  }
  std::lock_guard<std::mutex> lock(m.training);
  // A first-layer product fused into an update is only valid inside this loop: weights may be
  // changed through the Python views between calls.
  struct ForgetFusedProduct {
    Impl& m;
    ~ForgetFusedProduct() { m.first_product_of = nullptr; }
  } forget{m};
  m.first_product_of = nullptr;

  const std::ptrdiff_t batch = std::min(options.batch_size, n);
  m.ensure_workspace(batch);
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), std::int64_t(0));
  detail::SplitMix64 rng(options.seed);
  const T lr = T(options.learning_rate), mu = T(options.momentum);
  const std::ptrdiff_t n_out = m.layers.back();
  std::vector<T> val_out(validation ? std::size_t(validation->n * n_out) : 0);
  const double nan = std::numeric_limits<double>::quiet_NaN();

  std::vector<EpochLog> history;
  history.reserve(std::size_t(options.epochs));
  CheckInterval check_interval;
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    if (options.shuffle)
      for (std::ptrdiff_t i = n - 1; i > 0; --i)
        std::swap(order[std::size_t(i)], order[std::size_t(rng.below(std::uint64_t(i) + 1))]);
    double loss_sum = 0;
    for (std::ptrdiff_t start = 0; start < n; start += batch) {
      if (between_batches) check_interval.tick(between_batches);
      const std::ptrdiff_t rows = std::min(batch, n - start);
      // Online training tells each step the sample that follows, within the epoch.
      const std::int64_t* next = batch == 1 && start + 1 < n ? order.data() + start + 1 : nullptr;
      loss_sum += double(rows) * m.backprop(X, order.data() + start, rows, targets, WeightPass::sgd,
                                            lr, mu, nullptr, next);
    }
    EpochLog log;
    log.epoch = epoch;
    log.loss = loss_sum / double(n);
    log.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    log.val_loss = log.val_accuracy = nan;
    if (validation) {
      log.val_loss = loss(validation->X, validation->n, validation->targets);
      if (m.output == Activation::softmax || m.output == Activation::sigmoid) {
        predict(validation->X, validation->n, val_out.data());
        log.val_accuracy = detail::count_correct(m.output, validation->n, n_out, val_out.data(),
                                                 validation->targets) /
                           double(validation->n);
      }
    }
    history.push_back(log);
    if (on_epoch && !on_epoch(log)) break;
  }
  return history;
}

template class Network<float>;
template class Network<double>;

}  // namespace fastbp
