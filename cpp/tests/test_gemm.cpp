// The GEMM driver (packing, blocking, threads, per-ISA macro-kernels) against the plain triple
// loop, with every epilogue, on shapes that hit each edge: k below the unroll and above the
// k-block, n not a multiple of the vector width, transposed and index-gathered operands; float
// also with bfloat16 operands (the driver rounds while packing, the triple loop as it reads).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bfloat16.hpp"
#include "check.hpp"
#include "fastbp/threading.hpp"
#include "gemm.hpp"

using fastbp::Activation;
using fastbp::detail::MatrixView;

namespace {

template <typename T>
std::vector<T> random_vector(std::size_t n, std::mt19937& rng) {
  std::normal_distribution<double> dist(0.0, 1.0);
  std::vector<T> v(n);
  for (auto& x : v) x = T(dist(rng));
  return v;
}

// gathered_samples: A = X.T with X's rows picked by an index, as the weight pass reads a shuffled
// batch (A's columns indexed).
enum class Layout { plain, transposed_a, transposed_b, gathered_rows, gathered_samples };

template <typename T>
void check_case(std::ptrdiff_t m, std::ptrdiff_t n, std::ptrdiff_t k, Layout layout,
                int epilogue_kind, std::mt19937& rng, bool bfloat16 = false) {
  const double tol = sizeof(T) == 4 ? 2e-4 * std::sqrt(double(k) + 1) : 1e-11 * (double(k) + 1);
  std::vector<T> a_store = random_vector<T>(std::size_t(m * k + 1) * 2, rng);
  std::vector<T> b_store = random_vector<T>(std::size_t(k * n + 1), rng);
  std::vector<std::int64_t> rows(static_cast<std::size_t>(m));
  for (std::ptrdiff_t i = 0; i < m; ++i) rows[std::size_t(i)] = (i * 7 + 3) % (2 * m);
  std::vector<std::int64_t> samples(static_cast<std::size_t>(k));
  for (std::ptrdiff_t p = 0; p < k; ++p) samples[std::size_t(p)] = (p * 5 + 1) % (2 * k);

  MatrixView<T> a = fastbp::detail::row_major(a_store.data(), k);
  MatrixView<T> b = fastbp::detail::row_major(b_store.data(), n);
  if (layout == Layout::transposed_a) a = fastbp::detail::row_major(a_store.data(), m).transposed();
  if (layout == Layout::transposed_b) b = fastbp::detail::row_major(b_store.data(), k).transposed();
  if (layout == Layout::gathered_rows)
    a = fastbp::detail::row_major(a_store.data(), k, rows.data());
  if (layout == Layout::gathered_samples)  // X: 2k rows of m
    a = fastbp::detail::row_major(a_store.data(), m, samples.data()).transposed();
  a = a.at_bfloat16(bfloat16);
  b = b.at_bfloat16(bfloat16);

  std::vector<T> bias = random_vector<T>(std::size_t(n), rng);
  std::vector<T> deriv_of = random_vector<T>(std::size_t(m * n), rng);
  for (auto& y : deriv_of) y = T(1) / (T(1) + std::exp(-y));  // a valid sigmoid output
  std::vector<T> c0 = random_vector<T>(std::size_t(m * n), rng);
  std::vector<T> add0 = random_vector<T>(std::size_t(m * n), rng);

  std::vector<T> add_fast = add0, add_ref = add0;
  const char* names[] = {"store",      "bias+relu",    "bias+tanh",        "bias+sigmoid",
                         "derivative", "sgd (beta=1)", "momentum (add_to)"};
  std::vector<T> c_fast = c0, c_ref = c0;
  // The same epilogue through the driver and through the plain triple loop.
  const auto run = [&](const auto& ep_fast, const auto& ep_ref) {
    fastbp::detail::gemm<T>(m, n, k, a, b, c_fast.data(), n, ep_fast);
    fastbp::detail::gemm_reference<T>(m, n, k, a, b, c_ref.data(), n, ep_ref);
  };
  const Activation forward_activation[] = {Activation::identity, Activation::relu,
                                           Activation::tanh, Activation::sigmoid};
  switch (epilogue_kind) {
    case 0:  // C holds NaN: storing the gradient must not read it
      std::fill(c_fast.begin(), c_fast.end(), std::numeric_limits<T>::quiet_NaN());
      c_ref = c_fast;
      run(fastbp::detail::store_gradient<T>(), fastbp::detail::store_gradient<T>());
      break;
    case 1:
    case 2:
    case 3: {
      const auto ep = fastbp::detail::forward_epilogue<T>(bias.data(),
                                                          forward_activation[epilogue_kind]);
      run(ep, ep);
      break;
    }
    case 4: {
      const auto ep =
          fastbp::detail::backward_data_epilogue<T>(Activation::sigmoid, deriv_of.data(), n);
      run(ep, ep);
      break;
    }
    case 5:
      run(fastbp::detail::sgd_step<T>(T(0.1), T(1)), fastbp::detail::sgd_step<T>(T(0.1), T(1)));
      break;
    case 6:
      run(fastbp::detail::momentum_step<T>(T(0.1), T(0.9), add_fast.data(), n),
          fastbp::detail::momentum_step<T>(T(0.1), T(0.9), add_ref.data(), n));
      break;
    default:
      break;
  }
  const std::string type = bfloat16 ? "bf16" : sizeof(T) == 4 ? "f32" : "f64";
  const std::string what = type + " m=" + std::to_string(m) + " n=" + std::to_string(n) +
                           " k=" + std::to_string(k) + " layout=" + std::to_string(int(layout)) +
                           " epilogue=" + names[epilogue_kind] + " simd=" + fastbp::simd_level();
  double worst = 0;
  std::ptrdiff_t worst_at = 0;
  for (std::ptrdiff_t i = 0; i < m * n; ++i) {
    const double err = std::fabs(double(c_fast[std::size_t(i)]) - double(c_ref[std::size_t(i)])) /
                       std::fmax(1.0, std::fabs(double(c_ref[std::size_t(i)])));
    const double err_add =
        std::fabs(double(add_fast[std::size_t(i)]) - double(add_ref[std::size_t(i)])) /
        std::fmax(1.0, std::fabs(double(add_ref[std::size_t(i)])));
    const double e = std::isnan(err) || std::isnan(err_add) ? HUGE_VAL : std::fmax(err, err_add);
    if (e > worst) {
      worst = e;
      worst_at = i;
    }
  }
  CHECK_CLOSE(worst, 0.0, tol, what + " at element " + std::to_string(worst_at));
}

std::uint32_t bits_of(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

// The values no product of the network tests can feed the rounding (NaN and infinity are
// refused as input), and the signs of zeros, which a bias of +0 erases.
void check_bfloat16_special_values() {
  using fastbp::detail::round_to_bfloat16;
  using limits = std::numeric_limits<float>;
  CHECK(std::isnan(round_to_bfloat16(limits::quiet_NaN())));
  const float signalling = round_to_bfloat16(limits::signaling_NaN());
  CHECK(std::isnan(signalling) && (bits_of(signalling) & 0x00400000u) != 0);
  float top_bit_nan;  // rounding up its low half must not carry it into infinity
  const std::uint32_t nan_bits = 0x7fffffffu;
  std::memcpy(&top_bit_nan, &nan_bits, sizeof nan_bits);
  CHECK(std::isnan(round_to_bfloat16(top_bit_nan)));
  CHECK(round_to_bfloat16(limits::infinity()) == limits::infinity());
  CHECK(round_to_bfloat16(-limits::infinity()) == -limits::infinity());
  CHECK(round_to_bfloat16(limits::max()) == limits::infinity());
  CHECK(bits_of(round_to_bfloat16(-0.0f)) == 0x80000000u);
  CHECK(bits_of(round_to_bfloat16(-limits::denorm_min())) == 0x80000000u);
  CHECK(bits_of(round_to_bfloat16(limits::min() * 0.5f)) == 0u);
  CHECK(round_to_bfloat16(limits::min()) == limits::min());
  CHECK(round_to_bfloat16(1.00390625f) == 1.0f);        // a tie: to the even 1.0
  CHECK(round_to_bfloat16(1.01171875f) == 1.015625f);   // a tie: to the even 1.015625
  CHECK(round_to_bfloat16(1.0039064f) == 1.0078125f);   // one ulp past the tie: up
}

// A weight step from a batch of at most kThinK rows takes the rank-k sweep (thin_gemm), split by
// rows on a team: on 1, 2 and 3 threads (at most the processors, as kernel_testers.hpp counts
// them), each team size asserted, with n past a register block's edge.
template <typename T>
void check_thin_on_teams(std::mt19937& rng) {
  fastbp::set_adapt_to_load(false);  // on a loaded machine too, the teams must form
  for (int threads : {1, 2, 3}) {
    fastbp::set_num_threads(threads);
    fastbp::reset_threads_used();
    check_case<T>(500, 701, 7, Layout::transposed_a, 5, rng);         // 4.9 MFLOP: three members
    const int processors = int(std::thread::hardware_concurrency());  // the kernels' cap
    CHECK(fastbp::threads_used() == std::min(threads, processors));
  }
  fastbp::set_adapt_to_load(true);
}

}  // namespace

int main() {
  check_bfloat16_special_values();
  std::mt19937 rng(42);
  const std::ptrdiff_t sizes[][3] = {{1, 1, 1},      {1, 7, 3},     {7, 1, 17},    {5, 17, 1},
                                     {13, 33, 0},    {12, 32, 256}, {25, 65, 257}, {1, 128, 784},
                                     {64, 10, 128},  {129, 129, 7}, {37, 300, 70}, {3, 2100, 5},
                                     {300, 40, 600}, {9, 3, 2},     {67, 33, 8},   {17, 129, 9},
                                     {5, 40, 4},     {11, 19, 6},   {70, 32, 7}};
  for (int threads : {1, 2}) {
    fastbp::set_num_threads(threads);
    for (const auto& s : sizes)
      for (int layout = 0; layout < 5; ++layout)
        for (int ep = 0; ep < 7; ++ep) {
          check_case<float>(s[0], s[1], s[2], Layout(layout), ep, rng);
          check_case<float>(s[0], s[1], s[2], Layout(layout), ep, rng, /*bfloat16=*/true);
          check_case<double>(s[0], s[1], s[2], Layout(layout), ep, rng);
        }
  }
  check_thin_on_teams<float>(rng);
  check_thin_on_teams<double>(rng);
  return fastbp_test::finish("test_gemm");
}
