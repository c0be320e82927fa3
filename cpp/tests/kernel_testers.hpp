// Builder-style testers (after XNNPACK's gemm-microkernel-tester.h): each runs one kernel of the
// table at a given level and the same work on the scalar reference set, and compares. A test
// names the case with the builder's setters and calls test(level):
//   GemmTester().m(7).n(17).k(300).transposed_a().forward(Activation::gelu).test("avx2");
// The GEMM runs through the driver with the parallel threshold at 0, so on several threads the
// threaded path is taken; the tester checks that it was.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "check.hpp"
#include "fastbp/fastbp.hpp"
#include "gemm.hpp"
#include "kernels/kernel_table.hpp"
#include "optimizer_rules.hpp"

namespace fastbp_test {

template <typename T>
std::vector<T> normal_values(std::size_t n, std::uint32_t seed, double scale = 1.0) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> dist(0.0, scale);
  std::vector<T> v(n);
  for (T& x : v) x = T(dist(rng));
  return v;
}

// The largest |a - b| / max(1, |b|); a NaN on either side counts as an infinite difference
// (std::fmax would drop it). Written as a branch, not an fmax reduction: GCC 12's aarch64
// vectoriser fails with an internal error on that reduction.
template <typename T>
double worst_difference(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size()) return std::numeric_limits<double>::infinity();
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(double(a[i]) - double(b[i])) /
                     std::fmax(1.0, std::fabs(double(b[i])));
    if (!(d <= worst)) worst = std::isnan(d) ? std::numeric_limits<double>::infinity() : d;
  }
  return worst;
}

// Runs f() at `level` and returns; the level in force before is put back.
template <typename F>
void at_level(const std::string& level, F&& f) {
  const std::string before = fastbp::simd_level();
  fastbp::set_simd_level(level.c_str());
  f();
  fastbp::set_simd_level(before.c_str());
}

enum class Pass { forward, backward_data, store_gradient, sgd, momentum, optimizer };

template <typename T>
class GemmTester {
 public:
  GemmTester& m(std::ptrdiff_t v) { m_ = v; return *this; }
  GemmTester& n(std::ptrdiff_t v) { n_ = v; return *this; }
  GemmTester& k(std::ptrdiff_t v) { k_ = v; return *this; }
  GemmTester& threads(int v) { threads_ = v; return *this; }
  GemmTester& transposed_a() { transposed_a_ = true; return *this; }   // x.T in backward weights
  GemmTester& transposed_b() { transposed_b_ = true; return *this; }   // W.T in backward data
  GemmTester& gathered_rows() { gathered_ = true; return *this; }      // shuffled mini-batches
  GemmTester& forward(fastbp::Activation a) { pass_ = Pass::forward; activation_ = a; return *this; }
  GemmTester& backward_data(fastbp::Activation a) {
    pass_ = Pass::backward_data;
    activation_ = a;
    return *this;
  }
  GemmTester& store_gradient() { pass_ = Pass::store_gradient; return *this; }
  GemmTester& sgd() { pass_ = Pass::sgd; return *this; }
  GemmTester& momentum() { pass_ = Pass::momentum; return *this; }
  GemmTester& optimizer(const fastbp::Optimizer& o) {
    pass_ = Pass::optimizer;
    optimizer_ = o;
    return *this;
  }

  void test(const std::string& level) const {
    Result fast, reference;
    at_level(level, [&] { fast = run(); });
    at_level("reference", [&] { reference = run(); });
    const double tol = sizeof(T) == 4 ? 3e-4 * std::sqrt(double(k_) + 1) : 1e-11 * (k_ + 1.0);
    const std::string what = describe() + " at " + level;
    CHECK_CLOSE(worst_difference(fast.c, reference.c), 0.0, tol, what + ": C");
    CHECK_CLOSE(worst_difference(fast.side, reference.side), 0.0, tol,
                what + ": the second output (pre-activation, weights or parameters)");
    for (int i = 0; i < fastbp::kernels::kMaxStateArrays; ++i)
      CHECK_CLOSE(worst_difference(fast.state[i], reference.state[i]), 0.0, tol,
                  what + ": optimizer state " + std::to_string(i));
    // The kernels never run more threads than processors.
    const int processors = int(std::thread::hardware_concurrency());
    const int expected = threads_ < processors ? threads_ : processors;
    CHECK(fast.threads_used == (expected > 1 ? expected : 1));
  }

 private:
  struct Result {
    std::vector<T> c, side, state[fastbp::kernels::kMaxStateArrays];
    int threads_used = 1;
  };

  std::string describe() const {
    const char* passes[] = {"forward", "backward_data", "store_gradient", "sgd", "momentum",
                            "optimizer"};
    return std::string(sizeof(T) == 4 ? "f32 " : "f64 ") + passes[int(pass_)] + " (" +
           fastbp::to_string(activation_) + ", " + fastbp::to_string(optimizer_.kind) +
           ") m=" + std::to_string(m_) + " n=" + std::to_string(n_) + " k=" + std::to_string(k_) +
           (transposed_a_ ? " A.T" : "") + (transposed_b_ ? " B.T" : "") +
           (gathered_ ? " gathered" : "") + " threads=" + std::to_string(threads_);
  }

  Result run() const {
    using fastbp::detail::MatrixView;
    using fastbp::detail::row_major;
    const std::vector<T> a_store = normal_values<T>(std::size_t(2 * m_ * k_ + 2), 1);
    const std::vector<T> b_store = normal_values<T>(std::size_t(k_ * n_ + 1), 2, 0.3);
    std::vector<std::int64_t> rows(static_cast<std::size_t>(m_));
    for (std::ptrdiff_t i = 0; i < m_; ++i) rows[std::size_t(i)] = (i * 7 + 3) % (2 * m_);
    MatrixView<T> a = row_major(a_store.data(), k_);
    if (transposed_a_) a = row_major(a_store.data(), m_).transposed();
    if (gathered_) a = row_major(a_store.data(), k_, rows.data());
    MatrixView<T> b = row_major(b_store.data(), n_);
    if (transposed_b_) b = row_major(b_store.data(), k_).transposed();

    Result r;
    r.c = normal_values<T>(std::size_t(m_ * n_), 3);
    r.side = normal_values<T>(std::size_t(m_ * n_), 4);
    const std::vector<T> bias = normal_values<T>(std::size_t(n_), 5);
    fastbp::kernels::StatePointers<T> state;
    for (int i = 0; i < fastbp::kernels::kMaxStateArrays; ++i) {
      r.state[i] = normal_values<T>(std::size_t(m_ * n_), 6 + i, 0.1);
      for (T& s : r.state[i]) s = std::fabs(s);  // valid second moments and step sizes
      state.array[i] = r.state[i].data();
    }
    const fastbp::kernels::UpdateRule<T> rule =
        fastbp::detail::update_rule<T>(optimizer_, optimizer_.learning_rate, 3);
    fastbp::set_num_threads(threads_);
    fastbp::set_parallel_threshold(0);
    fastbp::set_adapt_to_load(false);  // on a loaded machine too, the teams must form
    fastbp::reset_threads_used();
    switch (pass_) {
      case Pass::forward:
        fastbp::detail::gemm<T>(m_, n_, k_, a, b, r.c.data(), n_,
                                fastbp::detail::forward_epilogue(bias.data(), activation_,
                                                                 r.side.data(), n_));
        break;
      case Pass::backward_data:
        fastbp::detail::gemm<T>(m_, n_, k_, a, b, r.c.data(), n_,
                                fastbp::detail::backward_data_epilogue<T>(activation_,
                                                                          r.side.data(), n_));
        break;
      case Pass::store_gradient:
        fastbp::detail::gemm<T>(m_, n_, k_, a, b, r.c.data(), n_,
                                fastbp::detail::store_gradient<T>());
        break;
      case Pass::sgd:
        fastbp::detail::gemm<T>(m_, n_, k_, a, b, r.c.data(), n_,
                                fastbp::detail::sgd_step<T>(T(0.1), T(0.99)));
        break;
      case Pass::momentum:
        fastbp::detail::gemm<T>(m_, n_, k_, a, b, r.c.data(), n_,
                                fastbp::detail::momentum_step<T>(T(0.1), T(0.9), r.side.data(),
                                                                 n_));
        break;
      case Pass::optimizer:
        fastbp::detail::gemm<T>(m_, n_, k_, a, b, r.c.data(), n_,
                                fastbp::detail::optimizer_step<T>(&rule, r.side.data(), state,
                                                                  n_));
        break;
    }
    r.threads_used = fastbp::threads_used();
    fastbp::set_parallel_threshold(-1);
    fastbp::set_adapt_to_load(true);
    fastbp::set_num_threads(1);
    if (pass_ == Pass::optimizer) r.c.assign(r.c.size(), T(0));  // partial sums: not a result
    return r;
  }

  std::ptrdiff_t m_ = 1, n_ = 1, k_ = 1;
  int threads_ = 1;
  bool transposed_a_ = false, transposed_b_ = false, gathered_ = false;
  Pass pass_ = Pass::store_gradient;
  fastbp::Activation activation_ = fastbp::Activation::identity;
  fastbp::Optimizer optimizer_;
};

// Packing: the documented layout (element (r, p) of A at dst[p * mr + r]; element (p, c) of B at
// dst[p * nr + c], columns beyond the panel zero), from transposed and gathered operands.
template <typename T>
class PackTester {
 public:
  PackTester& rows(std::ptrdiff_t v) { rows_ = v; return *this; }
  PackTester& cols(std::ptrdiff_t v) { cols_ = v; return *this; }
  PackTester& kc(std::ptrdiff_t v) { kc_ = v; return *this; }
  PackTester& transposed() { transposed_ = true; return *this; }
  PackTester& gathered() { gathered_ = true; return *this; }

  void test(const std::string& level) const {
    at_level(level, [&] {
      const fastbp::kernels::KernelTable<T>& kern = fastbp::kernels::kernel_table<T>();
      const std::ptrdiff_t extent = 64;  // rows and columns of the source
      const std::vector<T> source = normal_values<T>(std::size_t(extent * extent), 9);
      std::vector<std::int64_t> index(extent);
      for (std::ptrdiff_t i = 0; i < extent; ++i) index[std::size_t(i)] = (i * 5 + 1) % extent;
      fastbp::detail::MatrixView<T> view = fastbp::detail::row_major(source.data(), extent);
      if (transposed_) view = view.transposed();
      if (gathered_) view.row_index = index.data();
      const std::string what = level + " " + (transposed_ ? "transposed " : "") +
                               (gathered_ ? "gathered " : "") + "rows=" +
                               std::to_string(rows_) + " cols=" + std::to_string(cols_) +
                               " kc=" + std::to_string(kc_);
      const std::ptrdiff_t i0 = 3, p0 = 5;
      // A: rows_ (<= mr) rows from i0, kc_ columns from p0
      const std::ptrdiff_t arows = std::min<std::ptrdiff_t>(rows_, kern.mr);
      std::vector<T> a(std::size_t(kc_ * kern.mr), T(-777));
      kern.pack_a(view, i0, arows, p0, kc_, a.data());
      bool a_ok = true;
      for (std::ptrdiff_t p = 0; p < kc_; ++p)
        for (std::ptrdiff_t r = 0; r < arows; ++r)
          a_ok &= a[std::size_t(p * kern.mr + r)] == view(i0 + r, p0 + p);
      if (!a_ok) report(__FILE__, __LINE__, ("pack_a: " + what).c_str());
      // B: kc_ rows from p0, cols_ (<= nr) columns from j0, zero beyond
      const std::ptrdiff_t bcols = std::min<std::ptrdiff_t>(cols_, kern.nr);
      std::vector<T> b(std::size_t(kc_ * kern.nr), T(-777));
      kern.pack_b(view, p0, kc_, i0, bcols, b.data());
      bool b_ok = true;
      for (std::ptrdiff_t p = 0; p < kc_; ++p)
        for (std::ptrdiff_t c = 0; c < kern.nr; ++c)
          b_ok &= b[std::size_t(p * kern.nr + c)] == (c < bcols ? view(p0 + p, i0 + c) : T(0));
      if (!b_ok) report(__FILE__, __LINE__, ("pack_b: " + what).c_str());
    });
  }

 private:
  std::ptrdiff_t rows_ = 1, cols_ = 1, kc_ = 1;
  bool transposed_ = false, gathered_ = false;
};

// An optimizer's rule on whole arrays (the bias arrays, and what every tile and row step runs).
template <typename T>
class UpdateTester {
 public:
  UpdateTester& size(std::ptrdiff_t v) { n_ = v; return *this; }
  UpdateTester& optimizer(const fastbp::Optimizer& o) { optimizer_ = o; return *this; }
  UpdateTester& decay(bool v) { decay_ = v; return *this; }

  void test(const std::string& level) const {
    std::vector<T> fast[3], ref[3];
    at_level(level, [&] { run(fast); });
    at_level("reference", [&] { run(ref); });
    const std::string what = level + " " + fastbp::to_string(optimizer_.kind) + " n=" +
                             std::to_string(n_) + (decay_ ? " decay" : "");
    const char* names[] = {"weights", "state 0", "state 1"};
    for (int i = 0; i < 3; ++i)
      CHECK_CLOSE(worst_difference(fast[i], ref[i]), 0.0, sizeof(T) == 4 ? 1e-6 : 1e-14,
                  what + ": " + names[i]);
  }

 private:
  void run(std::vector<T> (&out)[3]) const {
    out[0] = normal_values<T>(std::size_t(n_), 11);
    const std::vector<T> g = normal_values<T>(std::size_t(n_), 12);
    fastbp::kernels::StatePointers<T> s;
    for (int i = 0; i < 2; ++i) {
      out[i + 1] = normal_values<T>(std::size_t(n_), 13 + i, 0.1);
      for (T& v : out[i + 1]) v = std::fabs(v);
      s.array[i] = out[i + 1].data();
    }
    const auto rule = fastbp::detail::update_rule<T>(optimizer_, optimizer_.learning_rate, 2);
    fastbp::kernels::kernel_table<T>().apply_update(rule, out[0].data(), g.data(), s, n_, decay_);
  }

  std::ptrdiff_t n_ = 1;
  fastbp::Optimizer optimizer_;
  bool decay_ = false;
};

// The sparse first layer's two kernels on a random CSR matrix with empty rows, repeated and
// unsorted columns, read through a shuffled row index, over the column range [j0, j1).
template <typename T>
class SparseTester {
 public:
  SparseTester& rows(std::ptrdiff_t v) { n_ = v; return *this; }
  SparseTester& inputs(std::ptrdiff_t v) { n_in_ = v; return *this; }
  SparseTester& width(std::ptrdiff_t v) { n_out_ = v; return *this; }
  SparseTester& columns(std::ptrdiff_t j0, std::ptrdiff_t j1) { j0_ = j0; j1_ = j1; return *this; }
  SparseTester& activation(fastbp::Activation a) { act_ = a; return *this; }

  void test(const std::string& level) const {
    std::vector<T> fast[3], ref[3];
    at_level(level, [&] { run(fast); });
    at_level("reference", [&] { run(ref); });
    const std::string what = level + " sparse n=" + std::to_string(n_) + " in=" +
                             std::to_string(n_in_) + " out=" + std::to_string(n_out_) + " [" +
                             std::to_string(j0_) + "," + std::to_string(j1_) + ") " +
                             fastbp::to_string(act_);
    const char* names[] = {"forward output", "forward pre-activation", "scattered gradient"};
    for (int i = 0; i < 3; ++i)
      CHECK_CLOSE(worst_difference(fast[i], ref[i]), 0.0, sizeof(T) == 4 ? 1e-5 : 1e-13,
                  what + ": " + names[i]);
  }

 private:
  void run(std::vector<T> (&out)[3]) const {
    std::mt19937 rng(7);
    std::vector<std::int64_t> indptr{0}, indices, order;
    for (std::ptrdiff_t i = 0; i < n_; ++i) {
      const int stored = int(rng() % 6);  // 0: an empty row
      for (int k = 0; k < stored; ++k)
        indices.push_back(std::int64_t(rng() % std::uint32_t(n_in_)));
      if (stored > 1) indices.push_back(indices.back());  // a repeated column adds up
      indptr.push_back(std::int64_t(indices.size()));
      order.push_back(n_ - 1 - i);
    }
    const std::vector<T> values = normal_values<T>(indices.size(), 41);
    const std::vector<T> W = normal_values<T>(std::size_t(n_in_ * n_out_), 42, 0.3);
    const std::vector<T> b = normal_values<T>(std::size_t(n_out_), 43);
    const std::vector<T> d = normal_values<T>(std::size_t(n_ * n_out_), 44);
    const fastbp::kernels::SparseView<T> x{indptr.data(), indices.data(), values.data(),
                                           order.data()};
    const auto& kern = fastbp::kernels::kernel_table<T>();
    out[0].assign(std::size_t(n_ * n_out_), T(-7));  // outside [j0, j1) must stay -7
    out[1].assign(std::size_t(n_ * n_out_), T(-7));
    kern.sparse_forward(x, 0, n_, W.data(), n_out_, b.data(), act_, j0_, j1_, out[0].data(),
                        out[1].data(), n_out_);
    out[2] = normal_values<T>(std::size_t(n_in_ * n_out_), 45);
    kern.sparse_scatter(x, n_, d.data(), n_out_, T(-0.5), out[2].data(), n_out_, j0_, j1_);
  }

  std::ptrdiff_t n_ = 1, n_in_ = 1, n_out_ = 1, j0_ = 0, j1_ = 1;
  fastbp::Activation act_ = fastbp::Activation::identity;
};

}  // namespace fastbp_test
