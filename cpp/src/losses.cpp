// The loss layer and the loss names, from the loss descriptors.
#include "losses.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace fastbp {

const std::vector<LossInfo>& loss_table() {
  static const std::vector<LossInfo> table = {
#define FASTBP_LOSS_INFO(id) \
  {Loss::id, detail::LossDescriptor<Loss::id>::name, detail::LossDescriptor<Loss::id>::output},
      FASTBP_LOSSES(FASTBP_LOSS_INFO)
#undef FASTBP_LOSS_INFO
  };
  return table;
}


Loss default_loss_for(Activation output) {
  if (output == Activation::softmax) return Loss::softmax_ce;
  if (output == Activation::sigmoid) return Loss::bce;
  if (output == Activation::exp) return Loss::poisson;
  return Loss::mse;
}

void check_output_loss_pairing(Activation output, const LossFunction& loss, long n_out) {
  std::string needs;
  for (const LossInfo& l : loss_table())
    if (l.kind == loss.kind) needs = l.output;
  if (!needs.empty() && needs != to_string(output))
    throw std::invalid_argument("loss '" + std::string(to_string(loss.kind)) + "' needs output='" +
                                needs + "', got output='" + to_string(output) + "'");
  if (loss.kind == Loss::softmax_ce && n_out < 2)
    throw std::invalid_argument("loss 'softmax_ce' needs at least 2 output units, got " +
                                std::to_string(n_out));
  if (output == Activation::softmax && loss.kind != Loss::softmax_ce)
    throw std::invalid_argument(std::string("output='softmax' needs loss 'softmax_ce', got '") +
                                to_string(loss.kind) + "'");
  validate(loss);
}

void validate(const LossFunction& loss) {
  if (loss.kind == Loss::huber)
    detail::require(std::isfinite(loss.delta) && loss.delta > 0, "delta", "a finite value > 0",
                    loss.delta);
}

namespace detail {
namespace {

template <typename T>
const T* target_row(const Targets<T>& targets, const std::int64_t* rows, std::ptrdiff_t i,
                    std::ptrdiff_t width) {
  return targets.values + (rows ? rows[i] : i) * width;
}

// log-sum-exp with the max subtracted; zi becomes softmax(zi). Exact for any target row, not
// only rows summing to one.
template <typename T>
double softmax_cross_entropy_row(std::ptrdiff_t width, T* zi, const T* ti, std::int64_t label,
                                 T* di, T delta_scale) {
  const T zmax = *std::max_element(zi, zi + width);
  T sum = T(0);
  for (std::ptrdiff_t j = 0; j < width; ++j) sum += std::exp(zi[j] - zmax);
  const T lse = zmax + std::log(sum);
  double loss = 0;
  T target_sum = T(1);
  if (ti) {
    target_sum = T(0);
    for (std::ptrdiff_t j = 0; j < width; ++j) {
      loss += double(ti[j]) * double(lse - zi[j]);
      target_sum += ti[j];
    }
  } else {
    loss = double(lse - zi[label]);
  }
  for (std::ptrdiff_t j = 0; j < width; ++j) zi[j] = std::exp(zi[j] - lse);
  if (di) {
    for (std::ptrdiff_t j = 0; j < width; ++j)
      di[j] = delta_scale * (zi[j] * target_sum - (ti ? ti[j] : T(0)));
    if (!ti) di[label] -= delta_scale;
  }
  return loss;
}

// mse, huber: y = act(z), dL/dz = dL/dy act'(z or y); the activation chosen once per row.
template <Loss L, Activation A, typename T>
double loss_on_outputs_row(const LossFunction& f, std::ptrdiff_t width, T* zi, const T* ti,
                           T* di, T delta_scale) {
  using D = ActivationDescriptor<A>;
  double loss = 0;
  for (std::ptrdiff_t j = 0; j < width; ++j) {
    const T z = zi[j], y = D::forward(z);
    loss += LossDescriptor<L>::value(y, ti[j], f);
    zi[j] = y;
    if (di)
      di[j] = delta_scale * LossDescriptor<L>::gradient(y, ti[j], f) *
              D::derivative(D::derivative_needs_input ? z : y);
  }
  return loss;
}

template <Loss L, typename T>
double loss_on_outputs_row(Activation output, const LossFunction& f, std::ptrdiff_t width, T* zi,
                           const T* ti, T* di, T delta_scale) {
  return with_activation(output, [&](auto act) {
    return loss_on_outputs_row<L, decltype(act)::value>(f, width, zi, ti, di, delta_scale);
  });
}

// bce and poisson: canonical links (sigmoid, exp), dL/dz = y - t.
template <Loss L, typename T>
double loss_from_logits_row(std::ptrdiff_t width, T* zi, const T* ti, T* di, T delta_scale) {
  double loss = 0;
  for (std::ptrdiff_t j = 0; j < width; ++j) {
    loss += LossDescriptor<L>::value_from_logit(zi[j], ti[j]);
    zi[j] = LossDescriptor<L>::output_from_logit(zi[j]);
    if (di) di[j] = delta_scale * (zi[j] - ti[j]);
  }
  return loss;
}

}  // namespace

template <typename T>
void softmax_row(std::ptrdiff_t width, T* z) {
  const T zmax = *std::max_element(z, z + width);
  T sum = T(0);
  for (std::ptrdiff_t j = 0; j < width; ++j) sum += (z[j] = std::exp(z[j] - zmax));
  const T inv = T(1) / sum;
  for (std::ptrdiff_t j = 0; j < width; ++j) z[j] *= inv;
}

template <typename T>
double weight_sum(const Targets<T>& targets, const std::int64_t* rows, std::ptrdiff_t n) {
  if (!targets.weights) return double(n);
  double sum = 0;
  for (std::ptrdiff_t i = 0; i < n; ++i) sum += double(targets.weights[rows ? rows[i] : i]);
  return sum;
}

template <typename T>
double output_loss(Activation output, const LossFunction& loss, std::ptrdiff_t n,
                   std::ptrdiff_t width, T* z, const Targets<T>& targets, const std::int64_t* rows,
                   T* delta, double delta_scale) {
  double total = 0;
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    T* zi = z + i * width;
    T* di = delta ? delta + i * width : nullptr;
    const T* ti = targets.values ? target_row(targets, rows, i, width) : nullptr;
    const T weight = targets.weights ? targets.weights[rows ? rows[i] : i] : T(1);
    const T scale = T(delta_scale * double(weight));
    double row = 0;
    switch (loss.kind) {
      case Loss::softmax_ce:
        row = softmax_cross_entropy_row(width, zi, ti,
                                        ti ? 0 : targets.labels[rows ? rows[i] : i], di, scale);
        break;
      case Loss::bce:
        row = loss_from_logits_row<Loss::bce>(width, zi, ti, di, scale);
        break;
      case Loss::poisson:
        row = loss_from_logits_row<Loss::poisson>(width, zi, ti, di, scale);
        break;
      case Loss::mse:
        row = loss_on_outputs_row<Loss::mse>(output, loss, width, zi, ti, di, scale);
        break;
      case Loss::huber:
        row = loss_on_outputs_row<Loss::huber>(output, loss, width, zi, ti, di, scale);
        break;
    }
    // A zero weight drops the row even where its loss or output is infinite (0 * inf is NaN).
    if (targets.weights && weight == T(0)) {
      if (di) std::fill(di, di + width, T(0));
      continue;
    }
    total += targets.weights ? double(weight) * row : row;
  }
  return total;
}

template <typename T>
double count_correct(Activation output, std::ptrdiff_t n, std::ptrdiff_t width, const T* y,
                     const Targets<T>& targets) {
  double correct = 0;
  const auto weight = [&](std::ptrdiff_t i) {
    return targets.weights ? double(targets.weights[i]) : 1.0;
  };
  if (output == Activation::softmax) {
    for (std::ptrdiff_t i = 0; i < n; ++i) {
      const T* yi = y + i * width;
      const std::ptrdiff_t predicted = std::max_element(yi, yi + width) - yi;
      std::ptrdiff_t expected;
      if (targets.labels) {
        expected = targets.labels[i];
      } else {
        const T* ti = targets.values + i * width;
        expected = std::max_element(ti, ti + width) - ti;
      }
      if (predicted == expected) correct += weight(i);
    }
  } else {
    for (std::ptrdiff_t i = 0; i < n * width; ++i)
      if ((y[i] > T(0.5)) == (targets.values[i] > T(0.5))) correct += weight(i / width);
    correct /= double(width);
  }
  return correct;
}

#define FASTBP_INSTANTIATE(T)                                                                  \
  template void softmax_row<T>(std::ptrdiff_t, T*);                                            \
  template double output_loss<T>(Activation, const LossFunction&, std::ptrdiff_t,              \
                                 std::ptrdiff_t, T*, const Targets<T>&, const std::int64_t*,   \
                                 T*, double);                                                       \
  template double count_correct<T>(Activation, std::ptrdiff_t, std::ptrdiff_t, const T*,       \
                                   const Targets<T>&);                                         \
  template double weight_sum<T>(const Targets<T>&, const std::int64_t*, std::ptrdiff_t);
FASTBP_INSTANTIATE(float)
FASTBP_INSTANTIATE(double)
#undef FASTBP_INSTANTIATE

}  // namespace detail
}  // namespace fastbp
