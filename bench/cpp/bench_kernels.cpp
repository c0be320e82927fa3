// The three fused passes on their own — forward (GEMM + bias + activation), backward
// (delta GEMM + derivative, weight-gradient GEMM) and the fused SGD update — for both dtypes and
// every SIMD level the CPU has, with a GFLOP/s counter (2 x m x n x k per product).
#include <benchmark/benchmark.h>

#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "fastbp/fastbp.hpp"

namespace {

struct Shape {
  const char* name;
  std::ptrdiff_t n, n_in, n_out;
};

const Shape kShapes[] = {
    {"1x784x128", 1, 784, 128},        {"64x784x256", 64, 784, 256},
    {"256x1024x2048", 256, 1024, 2048}, {"256x2048x2048", 256, 2048, 2048},
    {"7x129x65", 7, 129, 65},
};

template <typename T>
std::vector<T> random(std::size_t n) {
  std::mt19937 rng(1);
  std::normal_distribution<double> d(0, 0.1);
  std::vector<T> v(n);
  for (auto& x : v) x = T(d(rng));
  return v;
}

struct Operands {
  template <typename T>
  struct Of {
    std::vector<T> x, W, b, a, grad_a, grad_x, grad_W, grad_b;
    explicit Of(const Shape& s)
        : x(random<T>(std::size_t(s.n * s.n_in))), W(random<T>(std::size_t(s.n_in * s.n_out))),
          b(random<T>(std::size_t(s.n_out))), a(random<T>(std::size_t(s.n * s.n_out))),
          grad_a(random<T>(std::size_t(s.n * s.n_out))), grad_x(std::size_t(s.n * s.n_in)),
          grad_W(std::size_t(s.n_in * s.n_out)), grad_b(std::size_t(s.n_out)) {}
  };
};

bool use_level(benchmark::State& state, const char* level) {
  try {
    fastbp::set_simd_level(level);
  } catch (const std::invalid_argument&) {
    state.SkipWithError("SIMD level not supported by this CPU");
    return false;
  }
  fastbp::set_num_threads(int(state.range(0)));
  return true;
}

void flops(benchmark::State& state, double per_iteration) {
  state.counters["GFLOP/s"] = benchmark::Counter(double(state.iterations()) * per_iteration / 1e9,
                                                 benchmark::Counter::kIsRate);
}

template <typename T>
void BM_forward(benchmark::State& state, Shape s, const char* level) {
  if (!use_level(state, level)) return;
  Operands::Of<T> o(s);
  for (auto _ : state)
    fastbp::dense_forward<T>(s.n, s.n_in, s.n_out, o.x.data(), o.W.data(), o.b.data(),
                             fastbp::Activation::relu, o.a.data());
  flops(state, 2.0 * s.n * s.n_in * s.n_out);
}

template <typename T>
void BM_backward(benchmark::State& state, Shape s, const char* level) {
  if (!use_level(state, level)) return;
  Operands::Of<T> o(s);
  for (auto _ : state)
    fastbp::dense_backward<T>(s.n, s.n_in, s.n_out, o.grad_a.data(), o.x.data(), o.W.data(),
                              o.a.data(), fastbp::Activation::relu, o.grad_x.data(),
                              o.grad_W.data(), o.grad_b.data());
  flops(state, 4.0 * s.n * s.n_in * s.n_out);
}

template <typename T>
void BM_backward_sgd(benchmark::State& state, Shape s, const char* level) {
  if (!use_level(state, level)) return;
  Operands::Of<T> o(s);
  for (auto _ : state)
    fastbp::dense_backward_sgd<T>(s.n, s.n_in, s.n_out, o.grad_a.data(), o.x.data(), o.W.data(),
                                  o.b.data(), o.a.data(), fastbp::Activation::relu, T(1e-6),
                                  o.grad_x.data());
  flops(state, 4.0 * s.n * s.n_in * s.n_out);
}

const int kRegistered = [] {
  for (const char* level : {"avx512", "avx2", "portable"})
    for (const Shape& s : kShapes) {
      const std::string suffix = std::string(s.name) + "/" + level;
      auto reg = [&](const std::string& name, auto fn) {
        benchmark::RegisterBenchmark(name.c_str(), fn, s, level)
            ->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime()->Unit(benchmark::kMicrosecond);
      };
      reg("forward/f32/" + suffix, BM_forward<float>);
      reg("forward/f64/" + suffix, BM_forward<double>);
      reg("backward/f32/" + suffix, BM_backward<float>);
      reg("backward/f64/" + suffix, BM_backward<double>);
      reg("backward_sgd/f32/" + suffix, BM_backward_sgd<float>);
      reg("backward_sgd/f64/" + suffix, BM_backward_sgd<double>);
    }
  return 0;
}();

}  // namespace

BENCHMARK_MAIN();
