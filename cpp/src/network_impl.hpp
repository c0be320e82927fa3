// The inside of Network<T>: its architecture, parameters, optimizer state, workspace and guard,
// and the training step strung from the passes (passes.hpp) and the loss layer (losses.hpp):
// through the GEMM passes for a batch, or through the online kernels for one sample of a small
// network. Shared by network.cpp (construction, single steps, inference) and fit.cpp (the epoch
// loop).
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "aligned_allocator.hpp"
#include "allocation.hpp"
#include "architecture.hpp"
#include "checks.hpp"
#include "fastbp/network.hpp"
#include "fastbp/threading.hpp"
#include "kernels/kernel_table.hpp"
#include "locks.hpp"
#include "losses.hpp"
#include "optimizer_rules.hpp"
#include "optimizer_state.hpp"
#include "parameters.hpp"
#include "passes.hpp"
#include "threading_internal.hpp"
#include "workspace.hpp"

namespace fastbp::detail {

// Thrown by a step whose loss is not finite, before any parameter changes; train_step and fit
// turn it into a DivergenceError with their context.
struct NonFiniteLoss {
  double loss;
  std::string describe() const { return std::isnan(loss) ? "NaN" : "infinite"; }
};

// The next sample's first-layer product x_next @ W[0], computed by the fused online update of the
// current sample. Owned by the loop that trains sample after sample (fit): only there is nothing
// else touching W[0] between two steps.
template <typename T>
struct FirstLayerFusion {
  AlignedVector<T> product;
  const T* product_of = nullptr;  // the sample it was computed for
};

// Below this much work per member, a team costs a one-sample forward pass more than it saves:
// its start and a barrier per layer are a few microseconds.
inline constexpr double kOnlineInferenceMinFlopsPerThread = 1.0e5;
// W[0] of at least this many weights is updated a group at a time by plain online SGD (below it,
// W[0] stays in L1 and the group's bookkeeping costs more than it saves).
inline constexpr std::ptrdiff_t kOnlineGroupMinWeights = 4096;
// Online training runs one team over many samples, so only its barriers (2L - 1 per sample of L
// layers, 2 for one layer) weigh against a member's share of each step; but each of them waits out
// a time slice when the OS takes a member's core. Measured on a 2-core AMD EPYC: mnist-online
// ([784, 128, 10], 6.1e5 flops a step) ran 1.25x faster on two threads when quiet, and 0.72x as
// fast as one thread beside a busy process; [784, 256, 10] (1.2e6 flops) ran 1.57x faster. So only
// steps of 1e6 flops and more get a team.
inline constexpr double kOnlineTrainingMinFlopsPerThread = 5.0e5;

template <typename T>
struct NetworkImpl {
  Architecture arch;
  Parameters<T> params;
  OptimizerState<T> optimizer;
  Workspace<T> workspace;
  // C of the weight-gradient GEMM when an optimizer steps on its tiles: only partial sums
  // between k-blocks land here (the finished tiles go straight into the step).
  AlignedVector<T> partial_sums;
  // fit's copy of the parameters to fall back on when training diverges: kept between calls,
  // because allocating and filling it anew cost every partial_fit call a page-faulting pass
  // over a buffer the size of the model.
  AlignedVector<T> safe_parameters;
  TrainingGuard guard;

  NetworkImpl(Architecture architecture, std::uint64_t seed)
      : arch(std::move(architecture)), params(arch.layers) {
    params.initialise(arch, seed);
    for (std::size_t l = 0; l < arch.n_weight_layers(); ++l) {
      layer_weights_.push_back(params.W(l));
      layer_biases_.push_back(params.b(l));
    }
    refresh_state_views();
  }

  // Batch-1 steps go through the online kernels (on one thread, but for fit's runs of samples,
  // online_steps) unless the network is large enough for the threaded GEMMs to win: up to 2^18
  // parameters, W stays in L2.
  // The online kernels multiply in T: bfloat16 products take the GEMM driver, which rounds.
  bool use_online_kernels() const {
    if (arch.bfloat16_operands) return false;
    return params.values.size() <= (std::size_t(1) << 18) || get_num_threads() == 1;
  }

  // Gets the optimizer state ready for `o` and says what the next step does.
  StepPlan<T> plan_step(const Optimizer& o, double learning_rate) {
    optimizer.prepare(o, params.values.size());
    refresh_state_views();
    StepPlan<T> plan;
    plan.lr = T(learning_rate);
    plan.mu = T(o.momentum);
    plan.rule = update_rule<T>(o, learning_rate, optimizer.steps() + 1);
    const bool plain_sgd = o.kind == OptimizerKind::sgd && !o.nesterov;
    if (plain_sgd && o.momentum == 0) {
      plan.update = WeightUpdate::sgd;
      plan.keep = T(1) - T(learning_rate) * T(o.weight_decay);
    } else if (plain_sgd && o.weight_decay == 0) {
      plan.update = WeightUpdate::momentum;
    } else {
      plan.update = WeightUpdate::optimizer_rule;
      if (partial_sums.empty())
        assign_or_explain(partial_sums, params.values.size(), T(0), "the gradient buffer");
    }
    return plan;
  }

  // One backpropagation step over n samples (rows[i] of X, or row i); returns the mean loss
  // (weighted by the targets' sample weights, if any).
  // With an updating plan a non-finite loss throws NonFiniteLoss before anything changes. With
  // store_gradient, the gradient goes to `gradient`. `fusion` and `next_x`: see online_step.
  // Sparse X takes the batch path at any n: the online kernels read dense rows.
  double step(const Inputs<T>& X, const std::int64_t* rows, std::ptrdiff_t n, const Targets<T>& t,
              const StepPlan<T>& plan, T* gradient, FirstLayerFusion<T>* fusion = nullptr,
              const T* next_x = nullptr) {
    workspace.reserve(arch, n);
    if (n == 1 && !X.is_sparse() && use_online_kernels()) {
      const T* x = X.dense + (rows ? rows[0] : 0) * arch.layers[0];
      if (plan.update != WeightUpdate::store_gradient)
        return online_step(x, rows, t, plan, fusion, next_x);
      if (fusion) fusion->product_of = nullptr;
      return online_gradient(x, rows, t, plan, gradient);
    }
    if (fusion) fusion->product_of = nullptr;
    const std::size_t L = arch.n_weight_layers();
    T* const* outputs = workspace.outputs.data();
    T* const* preactivations = workspace.preactivations.data();
    forward(arch, params, X, rows, n, outputs, preactivations, /*leave_logits=*/true);

    T* delta = workspace.delta[0];
    T* delta_below = workspace.delta[1];
    const double weights = weight_sum(t, rows, n);
    const double inverse = weights > 0 ? 1.0 / weights : 0.0;
    const double loss_sum = output_loss(arch.output, arch.loss, n, arch.layers[L], outputs[L - 1],
                                        t, rows, delta, inverse);
    if (plan.update != WeightUpdate::store_gradient && plan.refuse_non_finite_loss &&
        !std::isfinite(loss_sum))
      throw NonFiniteLoss{loss_sum * inverse};

    for (std::size_t l = L; l-- > 0;) {
      // Backward-data first: it must see W[l] from before this step's update.
      if (l > 0)
        backward_data(arch, params, l, n, delta,
                      preactivations[l - 1] ? preactivations[l - 1] : outputs[l - 1],
                      delta_below);
      const MatrixView<T> input = l == 0 ? row_major(X.dense, arch.layers[0], rows)
                                         : row_major<T>(outputs[l - 1], arch.layers[l]);
      const kernels::SparseView<T> sparse = sparse_view(X.sparse, rows);
      backward_weights(arch, params, optimizer, l, n, input, delta, plan,
                       workspace.bias_gradient, gradient, partial_sums.data(),
                       l == 0 && X.is_sparse() ? &sparse : nullptr);
      if (plan.gradient_done) (*plan.gradient_done)(l);
      std::swap(delta, delta_below);
    }
    if (plan.update == WeightUpdate::optimizer_rule) optimizer.count_step();
    return loss_sum * inverse;
  }

  // A step of `o` from a finished gradient (laid out like the parameters), through the
  // element-wise rule every optimizer has: what the fused steps apply tile by tile.
  void apply_gradient(const T* gradient, const Optimizer& o, double learning_rate) {
    optimizer.prepare(o, params.values.size());
    refresh_state_views();
    const kernels::UpdateRule<T> rule = update_rule<T>(o, learning_rate, optimizer.steps() + 1);
    for (std::size_t l = 0; l < arch.n_weight_layers(); ++l) {
      const std::size_t w = params.weight_offset[l], b = params.bias_offset[l];
      apply_update(rule, params.W(l), gradient + w, optimizer.at(w),
                   arch.layers[l] * arch.layers[l + 1], /*decay=*/true);
      apply_update(rule, params.b(l), gradient + b, optimizer.at(b), arch.layers[l + 1],
                   /*decay=*/false);
    }
    optimizer.count_step();
  }

  // weight_panels: a Predictor's weights packed once, or null.
  void predict(const Inputs<T>& X, std::ptrdiff_t n, T* out,
               const WeightPanels<T>* weight_panels = nullptr) const {
    if (online_inference(X, n)) {
      online_logits(X.dense, out);
      activate_inplace(arch.output, 1, arch.layers.back(), out);
      return;
    }
    in_chunks(n, out, [&](std::ptrdiff_t start, std::ptrdiff_t rows, T* const* outs) {
      forward<T>(arch, params, from_row(X, start), nullptr, rows, outs, nullptr,
                 /*leave_logits=*/false, weight_panels);
    });
  }

  double mean_loss(const Inputs<T>& X, std::ptrdiff_t n, const Targets<T>& targets) const {
    const std::ptrdiff_t n_out = arch.layers.back();
    double total = 0;
    if (online_inference(X, n)) {
      AlignedVector<T>& logits = inference_scratch().logits;
      if (logits.size() < std::size_t(n_out))
        assign_or_explain(logits, std::size_t(n_out), T(0), "the loss evaluation's outputs");
      online_logits(X.dense, logits.data());
      total = output_loss(arch.output, arch.loss, 1, n_out, logits.data(), targets, nullptr,
                          static_cast<T*>(nullptr), 0.0);
    } else {
      std::vector<T> logits;
      assign_or_explain(logits, std::size_t(n * n_out), T(0),
                        "the outputs of the loss evaluation");
      in_chunks(n, logits.data(), [&](std::ptrdiff_t start, std::ptrdiff_t rows, T* const* outs) {
        forward<T>(arch, params, from_row(X, start), nullptr, rows, outs, nullptr,
                   /*leave_logits=*/true);
        Targets<T> shifted = targets;
        if (shifted.values) shifted.values += start * n_out;
        if (shifted.labels) shifted.labels += start;
        if (shifted.weights) shifted.weights += start;
        total += output_loss(arch.output, arch.loss, rows, n_out,
                             outs[arch.n_weight_layers() - 1], shifted, nullptr,
                             static_cast<T*>(nullptr), 0.0);
      });
    }
    const double weights = weight_sum(targets, nullptr, n);
    return weights > 0 ? total / weights : 0.0;
  }

  // Whether the online kernels fuse this plan's update into the backward pass. Plain SGD with
  // weight decay has no fused online kernel; it goes row by row through its rule.
  static bool online_fused(const StepPlan<T>& plan) {
    return plan.update == WeightUpdate::momentum ||
           (plan.update == WeightUpdate::sgd && plan.keep == T(1));
  }

  // How many threads online training of this network gets, when a plan can take the chunked
  // path (online_steps).
  int online_team_threads(const StepPlan<T>& plan) const {
    if (!online_fused(plan) || !use_online_kernels()) return 1;
    return threads_for_work(6.0 * double(params.values.size()), kOnlineTrainingMinFlopsPerThread);
  }

  // Whether plain online SGD updates W[0] a group at a time (kernels::kOnlineGroup): when the
  // plan is plain SGD and W[0] is too large for L1, where the one-sample step's sweeps of W[0]
  // are bound by the cache they stream from.
  bool online_grouped(const StepPlan<T>& plan) const {
    return plan.update == WeightUpdate::sgd && plan.keep == T(1) && use_online_kernels() &&
           arch.layers[0] * arch.layers[1] >= kOnlineGroupMinWeights;
  }

  // Online training of the samples order[0, count) of X, each step online_step's fused SGD or
  // momentum step, on a team of `threads` (one is fine): every layer shared out over the members
  // (online_forward, online_backward_sgd), each member with its own copy of the loss layer, and
  // with online_grouped plans W[0] updated a group of samples at a time. One team for them all:
  // starting one per sample would cost more than a step. `after`: the sample trained after
  // these, whose first-layer product an ungrouped step fuses into the last update (or null).
  // Adds each sample's loss to loss_sum in turn (as fit's loop over single steps does, so the
  // epoch's loss is the same sum on any team). A non-finite loss, when the plan refuses it, stops
  // the steps before that sample changes anything and throws NonFiniteLoss; `stopped_at` says
  // which.
  void online_steps(const T* X, const std::int64_t* order, std::ptrdiff_t count, const T* after,
                    const Targets<T>& t, const StepPlan<T>& plan, FirstLayerFusion<T>& fusion,
                    int threads, double& loss_sum, std::ptrdiff_t& stopped_at) {
    constexpr int G = kernels::kOnlineGroup;
    workspace.reserve(arch, 1);
    const kernels::KernelTable<T>& kern = kernels::kernel_table<T>();
    const std::size_t L = arch.n_weight_layers();
    const std::ptrdiff_t n_in = arch.layers[0], hidden = arch.layers[1], n_out = arch.layers[L];
    const bool grouped = online_grouped(plan);
    // Ungrouped: the fused next product; grouped: the group's products, its deltas, and the
    // corrected product of the sample in hand.
    const std::size_t group_size = std::size_t((2 * G + 1) * hidden);
    if (fusion.product.size() < group_size)
      assign_or_explain(fusion.product, group_size, T(0), "the online first-layer buffers");
    T* product = fusion.product.data();
    T* group_deltas = product + G * hidden;
    T* corrected = group_deltas + G * hidden;
    // Each member's logits, output delta, group coefficients and scaled inputs, a cache line
    // apart.
    const std::ptrdiff_t stride = (2 * n_out + G * G + (grouped ? G * n_in : 0) + 15) / 16 * 16;
    if (team_scratch_.size() < std::size_t(threads * stride))
      assign_or_explain(team_scratch_, std::size_t(threads * stride), T(0),
                        "the online team's buffers");
    const bool known = !grouped && fusion.product_of == X + order[0] * n_in;
    const kernels::OnlineNet<T> net = online_net();
    double refused = 0;
    stopped_at = count;
    run_team(threads, 0, [&](int member, int team) {
      kernels::OnlineNet<T> share = net;
      share.share_index = member;
      share.share_count = team;
      share.between_layers = &team_barrier;
      T* z = team_scratch_.data() + member * stride;
      T* delta = z + n_out;
      T* coefficients = delta + n_out;
      const auto input = [&](std::ptrdiff_t i) { return X + order[i] * n_in; };
      // One sample's step given its first-layer product; false when its loss is refused.
      const auto step = [&](std::ptrdiff_t i, const T* first_product, const T* next_x) {
        kern.online_forward(share, input(i), first_product);
        team_barrier(team);  // the logits are complete
        std::copy(net.outputs[L - 1], net.outputs[L - 1] + n_out, z);
        // One layer has no barrier in its backward pass: the logits must be read before the
        // next sample's forward pass overwrites them.
        if (L == 1) team_barrier(team);
        const double loss = online_loss(order + i, t, z, delta);
        if (plan.refuse_non_finite_loss && !std::isfinite(loss)) {
          if (member == 0) stopped_at = i, refused = loss;
          return false;  // every member computed the same loss
        }
        kern.online_backward_sgd(share, input(i), delta, plan.lr, plan.mu, next_x,
                                 next_x ? product : nullptr);
        if (member == 0) loss_sum += loss;
        return true;
      };
      if (!grouped) {
        for (std::ptrdiff_t i = 0; i < count; ++i)
          if (!step(i, i > 0 || known ? product : nullptr, i + 1 < count ? input(i + 1) : after))
            break;
        return;
      }
      // This member's columns of W[0]: all that it reads and writes of the group's buffers.
      const auto [c_begin, c_end] = kernels::member_columns(hidden, kern.nr, member, team);
      const T* group_x[G];
      const T* next_x[G];
      kernels::OnlineGroupPass<T> pass{plan.lr};
      pass.next_products = product;
      pass.next_coefficients = coefficients;
      pass.scaled = coefficients + G * G;
      pass.pending_delta = group_deltas;
      const auto gather = [&](std::ptrdiff_t first, const T** xs) {
        const int n = int(std::min<std::ptrdiff_t>(G, count - first));
        for (int k = 0; k < n; ++k) xs[k] = input(first + k);
        return n;
      };
      pass.next = gather(0, next_x);
      pass.next_x = next_x;
      kern.online_first_layer_pass(share, pass);
      for (std::ptrdiff_t first = 0; first < count; first += G) {
        const int n = pass.next;
        std::copy(next_x, next_x + n, group_x);
        for (int r = 0; r < n; ++r) {
          // x_r W[0] before the group's updates, plus the earlier samples' corrections.
          for (std::ptrdiff_t c = c_begin; c < c_end; ++c) {
            T p = product[r * hidden + c];
            for (int s = 0; s < r; ++s) p += coefficients[r * G + s] * group_deltas[s * hidden + c];
            corrected[c] = p;
          }
          share.first_layer_delta = group_deltas + r * hidden;
          if (!step(first + r, corrected, nullptr)) {
            // The earlier samples' updates of W[0] still stand.
            pass.pending = r;
            pass.pending_x = group_x;
            pass.next = 0;
            kern.online_first_layer_pass(share, pass);
            return;
          }
        }
        pass.pending = n;
        pass.pending_x = group_x;
        pass.next = first + G < count ? gather(first + G, next_x) : 0;
        kern.online_first_layer_pass(share, pass);
      }
    });
    fusion.product_of = !grouped && stopped_at == count ? after : nullptr;
    if (stopped_at < count) throw NonFiniteLoss{refused};
  }

 private:
  std::vector<T*> layer_weights_, layer_biases_;
  std::vector<T*> gradient_weights_, gradient_biases_;  // online_gradient's per-layer targets

  // X without its first `start` rows.
  Inputs<T> from_row(const Inputs<T>& X, std::ptrdiff_t start) const {
    if (!X.is_sparse()) return X.dense + start * arch.layers[0];
    SparseRows<T> rest = X.sparse;
    rest.indptr += start;  // the offsets stay absolute: indices and values need no shift
    return rest;
  }
  std::vector<kernels::StatePointers<T>> weight_state_, bias_state_;
  AlignedVector<T> team_scratch_;  // online_steps's per-member buffers

  // The optimizer state of each layer's W and b, for the online kernels.
  void refresh_state_views() {
    weight_state_.clear();
    bias_state_.clear();
    for (std::size_t l = 0; l < arch.n_weight_layers(); ++l) {
      weight_state_.push_back(optimizer.at(params.weight_offset[l]));
      bias_state_.push_back(optimizer.at(params.bias_offset[l]));
    }
  }

  // The network as the online kernels see it, over the model's workspace.
  kernels::OnlineNet<T> online_net() {
    return {arch.n_weight_layers(),
            arch.layers.data(),
            layer_weights_.data(),
            layer_biases_.data(),
            weight_state_.data(),
            bias_state_.data(),
            workspace.row_gradient,
            arch.hidden,
            arch.output,
            workspace.outputs.data(),
            workspace.preactivations.data(),
            {workspace.delta[0], workspace.delta[1]}};
  }

  // The loss of one sample from its logits z (which the loss may overwrite), and its output
  // delta. A sample's weight cancels in a batch of one, except a zero weight: no loss, no
  // gradient.
  double online_loss(const std::int64_t* rows, const Targets<T>& t, T* z, T* output_delta) const {
    const double weight = weight_sum(t, rows, 1);
    const double inverse = weight > 0 ? 1.0 / weight : 0.0;
    return inverse * output_loss(arch.output, arch.loss, 1, arch.layers.back(), z, t, rows,
                                 output_delta, inverse);
  }
  double online_loss(const std::int64_t* rows, const Targets<T>& t, T* output_delta) const {
    return online_loss(rows, t, workspace.outputs[arch.n_weight_layers() - 1], output_delta);
  }

  // The gradient of one sample's loss into `gradient` (laid out like the parameters), through
  // the online kernels: the GEMM driver's fixed costs are most of a one-sample gradient.
  double online_gradient(const T* x, const std::int64_t* rows, const Targets<T>& t,
                         const StepPlan<T>& plan, T* gradient) {
    const kernels::KernelTable<T>& kern = kernels::kernel_table<T>();
    const std::size_t L = arch.n_weight_layers();
    const kernels::OnlineNet<T> net = online_net();
    kern.online_forward(net, x, nullptr);
    T* output_delta = workspace.bias_gradient;
    const double loss = online_loss(rows, t, output_delta);
    gradient_weights_.resize(L);
    gradient_biases_.resize(L);
    for (std::size_t l = 0; l < L; ++l) {
      gradient_weights_[l] = gradient + params.weight_offset[l];
      gradient_biases_[l] = gradient + params.bias_offset[l];
    }
    kern.online_backward_gradient(net, x, output_delta, gradient_weights_.data(),
                                  gradient_biases_.data());
    if (plan.gradient_done)
      for (std::size_t l = L; l-- > 0;) (*plan.gradient_done)(l);
    return loss;
  }

  // One step on a single sample in the online kernels: fused SGD/momentum, or any other update
  // row by row through its rule. With `fusion` and next_x (the sample trained next), the fused
  // update of the first layer also computes next_x @ W[0] for that step. A sample of weight zero
  // still moves optimizers with state, as any zero gradient does.
  double online_step(const T* x, const std::int64_t* rows, const Targets<T>& t,
                     const StepPlan<T>& plan, FirstLayerFusion<T>* fusion, const T* next_x) {
    const kernels::KernelTable<T>& kern = kernels::kernel_table<T>();
    const kernels::OnlineNet<T> net = online_net();
    const bool known = fusion && fusion->product_of == x;
    kern.online_forward(net, x, known ? fusion->product.data() : nullptr);
    T* output_delta = workspace.bias_gradient;
    const double loss = online_loss(rows, t, output_delta);
    if (plan.refuse_non_finite_loss && !std::isfinite(loss)) {
      if (fusion) fusion->product_of = nullptr;
      throw NonFiniteLoss{loss};
    }
    if (online_fused(plan)) {
      if (fusion && fusion->product.empty())
        assign_or_explain(fusion->product, std::size_t(arch.layers[1]), T(0),
                          "the fused first-layer product");
      const bool fuse = fusion && next_x;
      kern.online_backward_sgd(net, x, output_delta, plan.lr, plan.mu, fuse ? next_x : nullptr,
                               fuse ? fusion->product.data() : nullptr);
      if (fusion) fusion->product_of = fuse ? next_x : nullptr;
    } else {
      kern.online_backward_rule(net, x, output_delta, plan.rule);
      if (fusion) fusion->product_of = nullptr;
      optimizer.count_step();
    }
    return loss;
  }

  // One dense sample of a network up to 2^18 parameters goes through the online kernels'
  // forward pass: the GEMM driver's fixed costs (its blocking, B's edge panel, a register tile
  // of rows for one) are most of a one-sample call of a small network. A larger one splits every
  // layer's columns over a team: each member keeps reading the same columns of W, so with two
  // cores a model of up to twice one core's L2 stays in cache between calls. Far larger models
  // stream W from memory either way, and the online kernels' walk down W's columns (a page per
  // row of a wide layer) made [1024, 2048, 2048, 10] a fifth slower than the GEMM driver.
  bool online_inference(const Inputs<T>& X, std::ptrdiff_t n) const {
    return n == 1 && !X.is_sparse() && !arch.bfloat16_operands &&
           params.values.size() <= (std::size_t(1) << 18);
  }

  // The online inference path's buffers, one set per thread: predict and loss run concurrently
  // on one model, so the model's workspace is not theirs to use.
  struct InferenceScratch {
    AlignedVector<T> rows, logits;
    std::vector<T*> outputs, preactivations;
  };
  static InferenceScratch& inference_scratch() {
    thread_local InferenceScratch scratch;
    return scratch;
  }

  // The last layer's logits of the one sample x into `logits`.
  void online_logits(const T* x, T* logits) const {
    const std::size_t L = arch.n_weight_layers();
    const std::ptrdiff_t widest = arch.widest_output();
    InferenceScratch& s = inference_scratch();
    // Hidden outputs in two alternating rows; no pre-activations.
    if (s.rows.size() < std::size_t(2 * widest))
      assign_or_explain(s.rows, std::size_t(2 * widest), T(0), "the inference workspace");
    s.outputs.resize(L);
    s.preactivations.assign(L, nullptr);
    for (std::size_t l = 0; l + 1 < L; ++l) s.outputs[l] = s.rows.data() + (l % 2) * widest;
    const kernels::KernelTable<T>& kern = kernels::kernel_table<T>();
    s.outputs[L - 1] = logits;
    const int threads =
        threads_for_work(2.0 * double(params.values.size()), kOnlineInferenceMinFlopsPerThread);
    const kernels::OnlineNet<T> net{L,
                                    arch.layers.data(),
                                    layer_weights_.data(),
                                    layer_biases_.data(),
                                    nullptr,
                                    nullptr,
                                    nullptr,
                                    arch.hidden,
                                    arch.output,
                                    s.outputs.data(),
                                    s.preactivations.data(),
                                    {nullptr, nullptr}};
    run_team(threads, 0, [&](int member, int team) {
      kernels::OnlineNet<T> share = net;
      share.share_index = member;
      share.share_count = team;
      share.between_layers = &team_barrier;
      kern.online_forward(share, x, nullptr);
    });
  }

  // Forward in chunks so a large X needs only chunk-sized intermediate buffers.
  template <typename Consume>
  void in_chunks(std::ptrdiff_t n, T* out_all, Consume&& consume) const {
    const std::size_t L = arch.n_weight_layers();
    const std::ptrdiff_t chunk = std::min<std::ptrdiff_t>(n, 1024);
    std::vector<std::size_t> offset(L);
    std::size_t total = 0;
    for (std::size_t l = 0; l + 1 < L; ++l) {
      offset[l] = total;
      total += std::size_t(chunk * arch.layers[l + 1]);
    }
    std::vector<T> buffer;
    assign_or_explain(buffer, total, T(0), "the inference workspace");
    std::vector<T*> outs(L);
    for (std::ptrdiff_t start = 0; start < n; start += chunk) {
      const std::ptrdiff_t rows = std::min(chunk, n - start);
      for (std::size_t l = 0; l + 1 < L; ++l) outs[l] = buffer.data() + offset[l];
      outs[L - 1] = out_all + start * arch.layers[L];
      consume(start, rows, outs.data());
    }
  }
};

}  // namespace fastbp::detail

namespace fastbp {
template <typename T>
struct Network<T>::Impl : detail::NetworkImpl<T> {
  using detail::NetworkImpl<T>::NetworkImpl;
};
}  // namespace fastbp
