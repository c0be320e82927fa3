// The reference kernel set: every entry of the kernel table again, in plain scalar loops over the
// same data layouts, with the scalar copies of the descriptors. It is the last level of the
// dispatch list (never chosen unless asked for: FASTBP_SIMD=reference) and the oracle the kernel
// testers (cpp/tests/kernel_testers.hpp) hold every SIMD level to. Its register tile is 3 x 5,
// so running the whole library on it also exercises the GEMM driver's edge handling.
#include <algorithm>
#include <cmath>

#include "../descriptors.hpp"
#include "kernel_table.hpp"

namespace fastbp::kernels::reference {
namespace {

using detail::activate;
using detail::activation_derivative;
using detail::apply_rule;

// (A @ B)(i, j) over the block's k range, read through its packed or direct layouts.
template <typename T>
T product(const MacroBlock<T>& blk, std::ptrdiff_t i, std::ptrdiff_t j) {
  const std::ptrdiff_t ip = i / kMR, r = i % kMR, jp = j / kNR, c = j % kNR;
  const bool b_direct = jp < blk.n / kNR;
  T acc = T(0);
  for (std::ptrdiff_t p = 0; p < blk.kc; ++p) {
    const T a = blk.a_packed ? blk.a_packed[(ip * blk.kc + p) * kMR + r]
                             : blk.a_base[(blk.a_row_index ? blk.a_row_index[i] : i) * blk.a_rs +
                                          p * blk.a_cs];
    T b;
    if (blk.b_packed)
      b = blk.b_packed[jp * blk.b_panel_stride + p * kNR + c];
    else if (b_direct)
      b = blk.b_base[p * blk.b_rs + j];
    else
      b = blk.b_edge[p * kNR + c];
    acc += a * b;
  }
  return acc;
}

// visit(i, j) for every element of the tiles [tile_begin, tile_end), tiles ordered as the SIMD
// macro-kernels order them.
template <typename T, typename Visit>
void for_each_element(const MacroBlock<T>& blk, std::ptrdiff_t tile_begin, std::ptrdiff_t tile_end,
                      Visit&& visit) {
  const std::ptrdiff_t m_panels = (blk.m + kMR - 1) / kMR;
  for (std::ptrdiff_t t = tile_begin; t < tile_end; ++t) {
    const std::ptrdiff_t i0 = (t % m_panels) * kMR, j0 = (t / m_panels) * kNR;
    for (std::ptrdiff_t i = i0; i < std::min(blk.m, i0 + kMR); ++i)
      for (std::ptrdiff_t j = j0; j < std::min(blk.n, j0 + kNR); ++j) visit(i, j);
  }
}

}  // namespace

namespace {

// C = finish(i, j, v) on the last k-block, C = v before it, v = the product plus C's partial sum
// after the first block: the forward and backward-data passes.
template <typename T, typename Epilogue, typename Finish>
void accumulate_then_finish(const MacroBlock<T>& blk, const Epilogue& ep, std::ptrdiff_t begin,
                            std::ptrdiff_t end, Finish&& finish) {
  for_each_element(blk, begin, end, [&](std::ptrdiff_t i, std::ptrdiff_t j) {
    T& c = blk.c[i * blk.ldc + j];
    const T v = product(blk, i, j) + (ep.accumulate ? c : T(0));
    c = ep.last ? finish(i, j, v) : v;
  });
}

}  // namespace

template <typename T>
void gemm_forward(const MacroBlock<T>& blk, const ForwardEpilogue<T>& ep, std::ptrdiff_t begin,
                  std::ptrdiff_t end) {
  accumulate_then_finish(blk, ep, begin, end, [&](std::ptrdiff_t i, std::ptrdiff_t j, T z) {
    if (ep.bias) z += ep.bias[j];
    if (ep.preactivation) ep.preactivation[i * ep.preactivation_ld + j] = z;
    return activate(ep.activation, z);
  });
}

template <typename T>
void gemm_backward_data(const MacroBlock<T>& blk, const BackwardDataEpilogue<T>& ep,
                        std::ptrdiff_t begin, std::ptrdiff_t end) {
  accumulate_then_finish(blk, ep, begin, end, [&](std::ptrdiff_t i, std::ptrdiff_t j, T v) {
    if (!ep.derivative_input) return v;
    return v * activation_derivative(ep.activation,
                                     ep.derivative_input[i * ep.derivative_input_ld + j]);
  });
}

template <typename T>
void gemm_backward_weights(const MacroBlock<T>& blk, const BackwardWeightsEpilogue<T>& ep,
                           std::ptrdiff_t begin, std::ptrdiff_t end) {
  for_each_element(blk, begin, end, [&](std::ptrdiff_t i, std::ptrdiff_t j) {
    T& c = blk.c[i * blk.ldc + j];
    T v = ep.alpha * product(blk, i, j);
    if (ep.beta != T(0)) v += ep.beta * c;
    if (ep.last && ep.rule) {  // v is the gradient of param(i, j); C is left alone
      const std::ptrdiff_t at = i * ep.param_ld + j;
      apply_rule(*ep.rule, ep.param + at, &v, ep.state.at(at), 1, /*decay=*/true);
      return;
    }
    c = v;
    if (ep.last && ep.add_to) ep.add_to[i * ep.add_to_ld + j] += v;
  });
}

template <typename T>
void gemm_backward_weights_thin(const ThinProduct<T>& product, const BackwardWeightsEpilogue<T>& ep,
                                std::ptrdiff_t begin, std::ptrdiff_t end) {
  for (std::ptrdiff_t i = begin; i < end; ++i)
    for (std::ptrdiff_t j = 0; j < product.n; ++j) {
      T& c = product.c[i * product.ldc + j];
      T acc = T(0);
      for (std::ptrdiff_t p = 0; p < product.k; ++p)
        acc += ep.alpha * (*product.a)(i, p) * product.b[p * product.ldb + j];
      if (ep.beta != T(0)) acc += ep.beta * c;
      c = acc;
      if (ep.add_to) ep.add_to[i * ep.add_to_ld + j] += acc;
    }
}

template <typename T>
void pack_a(const detail::MatrixView<T>& a, std::ptrdiff_t i0, std::ptrdiff_t rows,
            std::ptrdiff_t p0, std::ptrdiff_t kc, T* dst) {
  for (std::ptrdiff_t p = 0; p < kc; ++p)
    for (std::ptrdiff_t r = 0; r < rows; ++r) dst[p * kMR + r] = a(i0 + r, p0 + p);
}

template <typename T>
void pack_b(const detail::MatrixView<T>& b, std::ptrdiff_t p0, std::ptrdiff_t kc,
            std::ptrdiff_t j0, std::ptrdiff_t cols, T* dst) {
  for (std::ptrdiff_t p = 0; p < kc; ++p)
    for (std::ptrdiff_t c = 0; c < kNR; ++c)
      dst[p * kNR + c] = c < cols ? b(p0 + p, j0 + c) : T(0);
}

template <typename T>
void online_forward(const OnlineNet<T>& net, const T* x, const T* first_product) {
  const T* in = x;
  for (std::size_t l = 0; l < net.n_layers; ++l) {
    const std::ptrdiff_t n_in = net.widths[l], n_out = net.widths[l + 1];
    const Activation act = l + 1 < net.n_layers ? net.hidden : Activation::identity;
    const auto [first, end] = member_columns(n_out, kNR, net.share_index, net.share_count);
    for (std::ptrdiff_t k = first; k < end; ++k) {
      T z = net.biases[l][k];
      if (l == 0 && first_product) {
        z += first_product[k];
      } else {
        for (std::ptrdiff_t j = 0; j < n_in; ++j) z += in[j] * net.weights[l][j * n_out + k];
      }
      if (net.preactivations[l]) net.preactivations[l][k] = z;
      net.outputs[l][k] = activate(act, z);
    }
    if (net.share_count > 1 && l + 1 < net.n_layers) net.between_layers(net.share_count);
    in = net.outputs[l];
  }
}

namespace {

// Walks the layers from the last down: the delta of the layer below (from W before the update),
// then update(l, in, d) for the layer itself.
template <typename T, typename Update>
void backward_layers(const OnlineNet<T>& net, const T* x, const T* output_delta,
                     Update&& update) {
  const T* d = output_delta;
  int scratch = 0;
  for (std::size_t l = net.n_layers; l-- > 0;) {
    const std::ptrdiff_t n_in = net.widths[l], n_out = net.widths[l + 1];
    T* d_prev = net.delta_scratch[scratch];
    if (l > 0) {
      const T* u = net.preactivations[l - 1] ? net.preactivations[l - 1] : net.outputs[l - 1];
      for (std::ptrdiff_t j = 0; j < n_in; ++j) {
        T sum = T(0);
        for (std::ptrdiff_t k = 0; k < n_out; ++k) sum += net.weights[l][j * n_out + k] * d[k];
        d_prev[j] = sum * activation_derivative(net.hidden, u[j]);
      }
    }
    update(l, l == 0 ? x : net.outputs[l - 1], d);
    d = d_prev;
    scratch ^= 1;
  }
}

}  // namespace

// On a team, as the SIMD levels split it (online.inc): rows of W[l] above the first layer,
// columns of W[0].
template <typename T>
void online_backward_sgd(const OnlineNet<T>& net, const T* x, const T* output_delta, T lr, T mu,
                         const T* next_x, T* next_product) {
  const int index = net.share_index, count = net.share_count;
  const T* d = output_delta;
  int scratch = 0;
  for (std::size_t l = net.n_layers; l-- > 0;) {
    const std::ptrdiff_t n_in = net.widths[l], n_out = net.widths[l + 1];
    const auto [k_begin, k_end] = member_columns(n_out, kNR, index, count);
    const auto [j_begin, j_end] = l == 0 ? std::pair<std::ptrdiff_t, std::ptrdiff_t>{0, n_in}
                                         : member_columns(n_in, kNR, index, count);
    const std::ptrdiff_t k_first = l == 0 ? k_begin : 0, k_last = l == 0 ? k_end : n_out;
    T* d_prev = net.delta_scratch[scratch];
    T* W = net.weights[l];
    T* b = net.biases[l];
    if (l > 0) {
      const T* u = net.preactivations[l - 1] ? net.preactivations[l - 1] : net.outputs[l - 1];
      for (std::ptrdiff_t j = j_begin; j < j_end; ++j) {
        T sum = T(0);
        for (std::ptrdiff_t k = 0; k < n_out; ++k) sum += W[j * n_out + k] * d[k];
        d_prev[j] = sum * activation_derivative(net.hidden, u[j]);
      }
    }
    const T* in = l == 0 ? x : net.outputs[l - 1];
    const bool deferred = l == 0 && net.first_layer_delta;  // W[0] waits for its group's sweep
    if (deferred)
      for (std::ptrdiff_t k = k_begin; k < k_end; ++k) net.first_layer_delta[k] = d[k];
    T* vW = mu != T(0) ? net.weight_state[l].array[0] : nullptr;
    T* vb = mu != T(0) ? net.bias_state[l].array[0] : nullptr;
    for (std::ptrdiff_t j = j_begin; j < j_end && !deferred; ++j)
      for (std::ptrdiff_t k = k_first; k < k_last; ++k) {
        const T step = -lr * in[j] * d[k];
        T& w = W[j * n_out + k];
        if (vW) {
          T& v = vW[j * n_out + k];
          v = mu * v + step;
          w += v;
        } else {
          w += step;
        }
      }
    for (std::ptrdiff_t k = k_begin; k < k_end; ++k)
      b[k] += vb ? (vb[k] = mu * vb[k] - lr * d[k]) : -lr * d[k];
    if (l == 0 && next_x && !deferred)
      for (std::ptrdiff_t k = k_begin; k < k_end; ++k) {
        T z = T(0);
        for (std::ptrdiff_t j = 0; j < n_in; ++j) z += next_x[j] * W[j * n_out + k];
        next_product[k] = z;
      }
    if (l > 0 && count > 1) net.between_layers(count);
    d = d_prev;
    scratch ^= 1;
  }
}

template <typename T>
void online_first_layer_pass(const OnlineNet<T>& net, const OnlineGroupPass<T>& pass) {
  const std::ptrdiff_t n_in = net.widths[0], n_out = net.widths[1];
  const auto [k_begin, k_end] = member_columns(n_out, kNR, net.share_index, net.share_count);
  T* W = net.weights[0];
  for (int s = 0; s < pass.pending; ++s)
    for (std::ptrdiff_t j = 0; j < n_in; ++j)
      for (std::ptrdiff_t k = k_begin; k < k_end; ++k)
        W[j * n_out + k] += -pass.lr * pass.pending_x[s][j] * pass.pending_delta[s * n_out + k];
  for (int i = 0; i < pass.next; ++i) {
    for (std::ptrdiff_t k = k_begin; k < k_end; ++k) {
      T z = T(0);
      for (std::ptrdiff_t j = 0; j < n_in; ++j) z += pass.next_x[i][j] * W[j * n_out + k];
      pass.next_products[i * n_out + k] = z;
    }
    for (int s = 0; s < i; ++s) {
      T dot = T(0);
      for (std::ptrdiff_t j = 0; j < n_in; ++j) dot += pass.next_x[i][j] * pass.next_x[s][j];
      pass.next_coefficients[i * kOnlineGroup + s] = -pass.lr * dot;
    }
  }
}

template <typename T>
void online_backward_rule(const OnlineNet<T>& net, const T* x, const T* output_delta,
                          const UpdateRule<T>& rule) {
  backward_layers(net, x, output_delta, [&](std::size_t l, const T* in, const T* d) {
    const std::ptrdiff_t n_in = net.widths[l], n_out = net.widths[l + 1];
    for (std::ptrdiff_t j = 0; j < n_in; ++j)
      for (std::ptrdiff_t k = 0; k < n_out; ++k) {
        const std::ptrdiff_t at = j * n_out + k;
        const T g = in[j] * d[k];
        apply_rule(rule, net.weights[l] + at, &g, net.weight_state[l].at(at), 1, true);
      }
    for (std::ptrdiff_t k = 0; k < n_out; ++k)
      apply_rule(rule, net.biases[l] + k, d + k, net.bias_state[l].at(k), 1, false);
  });
}

template <typename T>
void online_backward_gradient(const OnlineNet<T>& net, const T* x, const T* output_delta,
                              T* const* weight_gradients, T* const* bias_gradients) {
  backward_layers(net, x, output_delta, [&](std::size_t l, const T* in, const T* d) {
    const std::ptrdiff_t n_in = net.widths[l], n_out = net.widths[l + 1];
    for (std::ptrdiff_t j = 0; j < n_in; ++j)
      for (std::ptrdiff_t k = 0; k < n_out; ++k) weight_gradients[l][j * n_out + k] = in[j] * d[k];
    for (std::ptrdiff_t k = 0; k < n_out; ++k) bias_gradients[l][k] = d[k];
  });
}

template <typename T>
void apply_update(const UpdateRule<T>& rule, T* w, const T* g, StatePointers<T> s,
                  std::ptrdiff_t n, bool decay) {
  for (std::ptrdiff_t i = 0; i < n; ++i) apply_rule(rule, w + i, g + i, s.at(i), 1, decay);
}

template <typename T>
bool all_finite(const T* x, std::ptrdiff_t n) {
  for (std::ptrdiff_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) return false;
  return true;
}

template <typename T>
void sparse_forward(const SparseView<T>& x, std::ptrdiff_t i0, std::ptrdiff_t i1, const T* w,
                    std::ptrdiff_t ldw, const T* bias, Activation act, std::ptrdiff_t j0,
                    std::ptrdiff_t j1, T* out, T* preactivation, std::ptrdiff_t ldo) {
  for (std::ptrdiff_t i = i0; i < i1; ++i)
    for (std::ptrdiff_t j = j0; j < j1; ++j) {
      T z = bias[j];
      for (std::int64_t k = x.indptr[x.row(i)]; k < x.indptr[x.row(i) + 1]; ++k)
        z += x.values[k] * w[x.indices[k] * ldw + j];
      if (preactivation) preactivation[i * ldo + j] = z;
      out[i * ldo + j] = activate(act, z);
    }
}

template <typename T>
void sparse_scatter(const SparseView<T>& x, std::ptrdiff_t n, const T* d, std::ptrdiff_t ldd,
                    T alpha, T* c, std::ptrdiff_t ldc, std::ptrdiff_t j0, std::ptrdiff_t j1) {
  for (std::ptrdiff_t i = 0; i < n; ++i)
    for (std::int64_t k = x.indptr[x.row(i)]; k < x.indptr[x.row(i) + 1]; ++k)
      for (std::ptrdiff_t j = j0; j < j1; ++j)
        c[x.indices[k] * ldc + j] += alpha * x.values[k] * d[i * ldd + j];
}

#define FASTBP_INSTANTIATE_REFERENCE(T)                                                           \
  template void gemm_forward<T>(const MacroBlock<T>&, const ForwardEpilogue<T>&, std::ptrdiff_t,  \
                                std::ptrdiff_t);                                                  \
  template void gemm_backward_data<T>(const MacroBlock<T>&, const BackwardDataEpilogue<T>&,       \
                                      std::ptrdiff_t, std::ptrdiff_t);                            \
  template void gemm_backward_weights<T>(const MacroBlock<T>&, const BackwardWeightsEpilogue<T>&, \
                                         std::ptrdiff_t, std::ptrdiff_t);                         \
  template void gemm_backward_weights_thin<T>(                                                    \
      const ThinProduct<T>&, const BackwardWeightsEpilogue<T>&, std::ptrdiff_t, std::ptrdiff_t);  \
  template void pack_a<T>(const detail::MatrixView<T>&, std::ptrdiff_t, std::ptrdiff_t,           \
                          std::ptrdiff_t, std::ptrdiff_t, T*);                                    \
  template void pack_b<T>(const detail::MatrixView<T>&, std::ptrdiff_t, std::ptrdiff_t,           \
                          std::ptrdiff_t, std::ptrdiff_t, T*);                                    \
  template void online_forward<T>(const OnlineNet<T>&, const T*, const T*);                       \
  template void online_backward_sgd<T>(const OnlineNet<T>&, const T*, const T*, T, T, const T*,   \
                                       T*);                                                       \
  template void online_first_layer_pass<T>(const OnlineNet<T>&, const OnlineGroupPass<T>&);       \
  template void online_backward_rule<T>(const OnlineNet<T>&, const T*, const T*,                  \
                                        const UpdateRule<T>&);                                    \
  template void online_backward_gradient<T>(const OnlineNet<T>&, const T*, const T*, T* const*,   \
                                            T* const*);                                           \
  template void apply_update<T>(const UpdateRule<T>&, T*, const T*, StatePointers<T>,             \
                                std::ptrdiff_t, bool);                                            \
  template bool all_finite<T>(const T*, std::ptrdiff_t);                                          \
  template void sparse_forward<T>(const SparseView<T>&, std::ptrdiff_t, std::ptrdiff_t, const T*, \
                                  std::ptrdiff_t, const T*, Activation, std::ptrdiff_t,           \
                                  std::ptrdiff_t, T*, T*, std::ptrdiff_t);                        \
  template void sparse_scatter<T>(const SparseView<T>&, std::ptrdiff_t, const T*, std::ptrdiff_t, \
                                  T, T*, std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t);
FASTBP_INSTANTIATE_REFERENCE(float)
FASTBP_INSTANTIATE_REFERENCE(double)
#undef FASTBP_INSTANTIATE_REFERENCE

}  // namespace fastbp::kernels::reference
