// The reference workloads of bench/workloads.json, for the C++ benchmarks, and their data.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "fastbp/fastbp.hpp"

namespace fastbp_bench {

struct Workload {
  const char* name;
  std::vector<std::ptrdiff_t> layers;
  fastbp::Activation hidden, output;
  fastbp::Loss loss;
  std::ptrdiff_t batch;
  double momentum = 0;  // classical momentum of the workload's SGD

  fastbp::Optimizer sgd() const { return fastbp::Optimizer::sgd(0.01, momentum); }

  double weights() const {
    double w = 0;
    for (std::size_t l = 0; l + 1 < layers.size(); ++l)
      w += double(layers[l]) * double(layers[l + 1]) + double(layers[l + 1]);
    return w;
  }
};

inline const std::vector<Workload>& workloads() {
  using A = fastbp::Activation;
  using L = fastbp::Loss;
  static const std::vector<Workload> all = {
      {"xor-online", {2, 8, 1}, A::sigmoid, A::sigmoid, L::mse, 1},
      {"small-tabular", {32, 64, 64, 1}, A::relu, A::identity, L::mse, 32},
      {"mnist-online", {784, 128, 10}, A::sigmoid, A::softmax, L::softmax_ce, 1},
      {"mnist-mlp", {784, 256, 128, 10}, A::relu, A::softmax, L::softmax_ce, 64},
      {"wide", {1024, 2048, 2048, 10}, A::relu, A::softmax, L::softmax_ce, 256},
      {"odd-deep", {37, 129, 65, 3}, A::tanh, A::softmax, L::softmax_ce, 7},
      {"higgs", {28, 300, 300, 300, 300, 300, 1}, A::tanh, A::sigmoid, L::bce, 100, 0.9},
  };
  return all;
}

// Standard-normal inputs; class labels (and their one-hot rows), 0/1 targets (bce) or
// standard-normal targets.
template <typename T>
struct Data {
  std::ptrdiff_t n;
  std::vector<T> X, T_values;
  std::vector<std::int64_t> labels;

  Data(const Workload& w, std::ptrdiff_t n_samples) : n(n_samples) {
    std::mt19937_64 rng(0);
    std::normal_distribution<double> normal(0, 1);
    const std::ptrdiff_t n_in = w.layers.front(), n_out = w.layers.back();
    X.resize(std::size_t(n * n_in));
    for (auto& x : X) x = T(normal(rng));
    T_values.assign(std::size_t(n * n_out), T(0));
    labels.resize(std::size_t(n));
    for (std::ptrdiff_t i = 0; i < n; ++i) {
      labels[std::size_t(i)] = std::int64_t(rng() % std::uint64_t(n_out));
      for (std::ptrdiff_t k = 0; k < n_out; ++k)
        T_values[std::size_t(i * n_out + k)] =
            w.loss == fastbp::Loss::softmax_ce ? T(k == labels[std::size_t(i)])
            : w.loss == fastbp::Loss::bce      ? T(normal(rng) > 0)
                                               : T(normal(rng));
    }
  }

  fastbp::Targets<T> targets(const Workload& w) const {
    fastbp::Targets<T> t;
    if (w.loss == fastbp::Loss::softmax_ce)
      t.labels = labels.data();
    else
      t.values = T_values.data();
    return t;
  }
};

}  // namespace fastbp_bench
