// Train steps of the reference workloads: fastbp's fit (the epoch loop in C++), its train_step,
// and FANN (when built with it) on the same shapes. Counters: samples/s and GFLOP/s, counted as
// 6 x weights x samples like bench/compare.py.
#include <benchmark/benchmark.h>

#include <string>
#include <utility>

#include "workloads.hpp"

#if defined(FASTBP_BENCH_WITH_FANN)
#include <floatfann.h>
#endif

namespace {

using fastbp_bench::Data;
using fastbp_bench::Workload;

constexpr std::ptrdiff_t kSamples = 2048;

void set_counters(benchmark::State& state, const Workload& w, double samples) {
  state.counters["samples/s"] = benchmark::Counter(samples, benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] =
      benchmark::Counter(samples * 6 * w.weights() / 1e9, benchmark::Counter::kIsRate);
}

template <typename T>
void BM_fit_epoch(benchmark::State& state, const Workload& w, fastbp::Optimizer optimizer) {
  fastbp::set_num_threads(int(state.range(0)));
  const Data<T> data(w, kSamples / w.batch * w.batch);
  fastbp::Network<T> net(w.layers, w.hidden, w.output, w.loss, 0);
  fastbp::FitOptions options;
  options.epochs = 1;
  options.batch_size = w.batch;
  options.optimizer = optimizer;
  const auto targets = data.targets(w);
  net.fit(data.X.data(), data.n, targets, options);  // warm-up
  for (auto _ : state) net.fit(data.X.data(), data.n, targets, options);
  set_counters(state, w, double(state.iterations()) * double(data.n));
}

template <typename T>
void BM_train_step(benchmark::State& state, const Workload& w) {
  fastbp::set_num_threads(int(state.range(0)));
  const Data<T> data(w, w.batch);
  fastbp::Network<T> net(w.layers, w.hidden, w.output, w.loss, 0);
  const auto targets = data.targets(w);
  net.train_step(data.X.data(), w.batch, targets, T(0.01), T(w.momentum));
  for (auto _ : state)
    benchmark::DoNotOptimize(
        net.train_step(data.X.data(), w.batch, targets, T(0.01), T(w.momentum)));
  set_counters(state, w, double(state.iterations()) * double(w.batch));
}

#if defined(FASTBP_BENCH_WITH_FANN)
// FANN has no ReLU or softmax: its closest substitutes time the same shapes.
fann_activationfunc_enum fann_activation(fastbp::Activation a) {
  switch (a) {
    case fastbp::Activation::relu:
      return FANN_LINEAR_PIECE;
    case fastbp::Activation::tanh:
      return FANN_SIGMOID_SYMMETRIC;
    case fastbp::Activation::identity:
      return FANN_LINEAR;
    default:
      return FANN_SIGMOID;
  }
}

// Incremental (per-pattern) training for batch 1, batch training on a set of exactly `batch`
// samples otherwise: how FANN is used for each.
void BM_fann(benchmark::State& state, const Workload& w) {
  std::vector<unsigned int> layers(w.layers.begin(), w.layers.end());
  fann* ann = fann_create_standard_array(unsigned(layers.size()), layers.data());
  fann_set_activation_function_hidden(ann, fann_activation(w.hidden));
  fann_set_activation_function_output(ann, fann_activation(w.output));
  fann_set_learning_rate(ann, 0.01f);
  fann_set_learning_momentum(ann, float(w.momentum));
  const std::ptrdiff_t n = w.batch == 1 ? kSamples : w.batch;
  const Data<float> data(w, n);
  const std::ptrdiff_t n_in = w.layers.front(), n_out = w.layers.back();
  fann_train_data* set = fann_create_train(unsigned(n), unsigned(n_in), unsigned(n_out));
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    for (std::ptrdiff_t j = 0; j < n_in; ++j) set->input[i][j] = data.X[std::size_t(i * n_in + j)];
    for (std::ptrdiff_t k = 0; k < n_out; ++k)
      set->output[i][k] = data.T_values[std::size_t(i * n_out + k)];
  }
  fann_set_training_algorithm(ann, w.batch == 1 ? FANN_TRAIN_INCREMENTAL : FANN_TRAIN_BATCH);
  for (auto _ : state) benchmark::DoNotOptimize(fann_train_epoch(ann, set));
  set_counters(state, w, double(state.iterations()) * double(n));
  fann_destroy_train(set);
  fann_destroy(ann);
}
#endif

const int kRegistered = [] {
  // The other optimizers, on the same workloads: fused momentum, and the element-wise update
  // pass of Nesterov, Adam and RProp (its cost over plain SGD is what these show).
  const std::pair<const char*, fastbp::Optimizer> others[] = {
      {"momentum", fastbp::Optimizer::sgd(0.01, 0.9)},
      {"nesterov", fastbp::Optimizer::sgd(0.01, 0.9, true)},
      {"adam", fastbp::Optimizer::adam(0.001)},
      {"rprop", fastbp::Optimizer::rprop()}};
  for (const Workload& w : fastbp_bench::workloads()) {
    const std::string name = w.name;
    // "fit": the workload's own SGD (with its momentum, if it has one)
    benchmark::RegisterBenchmark(("fit/f32/" + name).c_str(), BM_fit_epoch<float>, w, w.sgd())
        ->Arg(1)
        ->Arg(2)
        ->ArgName("threads")
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("fit/f64/" + name).c_str(), BM_fit_epoch<double>, w, w.sgd())
        ->Arg(2)
        ->ArgName("threads")
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
    for (const auto& [label, optimizer] : others)
      benchmark::RegisterBenchmark(("fit_" + std::string(label) + "/f32/" + name).c_str(),
                                   BM_fit_epoch<float>, w, optimizer)
          ->Arg(1)
          ->Arg(2)
          ->ArgName("threads")
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("train_step/f32/" + name).c_str(), BM_train_step<float>, w)
        ->Arg(1)
        ->Arg(2)
        ->ArgName("threads")
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
#if defined(FASTBP_BENCH_WITH_FANN)
    benchmark::RegisterBenchmark(("fann/f32/" + name).c_str(), BM_fann, w)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
#endif
  }
  return 0;
}();

}  // namespace

BENCHMARK_MAIN();
