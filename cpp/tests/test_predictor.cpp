// Predictor (a network frozen for inference, its weights packed once) against the network's own
// predict: the same blocking reads the same values in the same order, so the outputs must be
// equal to the bit, at every SIMD level, both dtypes, odd widths and batches (one sample goes
// through the online kernels), on 1, 2 and 3 threads with the threaded path taken, in bfloat16
// products, after the SIMD level changes under it, and after the network moves on.
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "check.hpp"
#include "fastbp/fastbp.hpp"
#include "kernel_testers.hpp"

using fastbp::Activation;

namespace {

template <typename T>
std::vector<T> predict(const fastbp::Network<T>& net, const std::vector<T>& X, std::ptrdiff_t n) {
  std::vector<T> out(std::size_t(n * net.layers().back()));
  net.predict(X.data(), n, out.data());
  return out;
}
template <typename T>
std::vector<T> predict(const fastbp::Predictor<T>& p, const std::vector<T>& X, std::ptrdiff_t n) {
  std::vector<T> out(std::size_t(n * p.layers().back()), T(-7));
  p.predict(X.data(), n, out.data());
  return out;
}

std::string describe(const std::string& level, const std::vector<std::ptrdiff_t>& layers,
                     std::ptrdiff_t n, int threads) {
  std::string s = level + " layers";
  for (std::ptrdiff_t w : layers) s += " " + std::to_string(w);
  return s + ", batch " + std::to_string(n) + ", " + std::to_string(threads) + " threads";
}

template <typename T>
void test_matches_network(const std::string& level,
                          fastbp::MatmulPrecision precision = fastbp::MatmulPrecision::native) {
  const std::vector<std::vector<std::ptrdiff_t>> shapes = {
      {1, 1},        {7, 17, 3}, {129, 65, 7, 1}, {37, 300, 70, 10}, {784, 256, 128, 10},
      {5, 2100, 3},     // n beyond a column panel (nc) at every level
      {1100, 300, 2}};  // k-blocks on a team too (k * n beyond the shared-panel budget)
  for (const auto& layers : shapes)
    for (const std::ptrdiff_t n : {1, 7, 129, 300})
      for (const int threads : {1, 2, 3}) {
        fastbp::set_num_threads(threads);
        fastbp_test::at_level(level, [&] {
          const bool one_output = layers.back() == 1;
          fastbp::Network<T> net(layers, one_output ? Activation::relu : Activation::tanh,
                                 one_output ? Activation::sigmoid : Activation::softmax,
                                 one_output ? fastbp::Loss::bce : fastbp::Loss::softmax_ce, 11,
                                 precision);
          const std::vector<T> biases = fastbp_test::normal_values<T>(net.n_parameters(), 5, 0.1);
          for (std::size_t l = 0; l < net.n_weight_layers(); ++l)
            for (std::ptrdiff_t j = 0; j < layers[l + 1]; ++j)
              net.parameters()[net.bias_offset(l) + j] = biases[net.bias_offset(l) + j];
          const std::vector<T> X = fastbp_test::normal_values<T>(std::size_t(n * layers[0]), 3);
          const fastbp::Predictor<T> frozen(net);
          fastbp::reset_threads_used();
          const std::vector<T> got = predict(frozen, X, n);
          const int used = fastbp::threads_used();
          const std::string what = describe(level, layers, n, threads);
          CHECK_CLOSE(fastbp_test::worst_difference(got, predict(net, X, n)), 0.0, 0.0, what);
          // (the kernels never run more threads than processors)
          const int processors = int(std::thread::hardware_concurrency());
          if (layers[0] == 784 && n == 300)
            CHECK_CLOSE(used, threads < processors ? threads : processors, 0.0,
                        what + ": threads the predictor used");
        });
      }
}

// The snapshot does not follow the network; a change of SIMD level falls back to packing W per
// call, still with the snapshot's weights.
template <typename T>
void test_snapshot_and_level_change(const std::vector<std::string>& levels) {
  const std::vector<std::ptrdiff_t> layers = {33, 40, 5};
  const std::ptrdiff_t n = 64;
  fastbp::Network<T> net(layers, Activation::relu, Activation::identity, fastbp::Loss::mse, 2);
  const std::vector<T> X = fastbp_test::normal_values<T>(std::size_t(n * layers[0]), 8);
  const std::vector<T> before = predict(net, X, n);
  const fastbp::Predictor<T> frozen(net);
  for (std::size_t i = 0; i < net.n_parameters(); ++i) net.parameters()[i] *= T(0.5);
  CHECK(fastbp_test::worst_difference(predict(net, X, n), before) > 1e-3);
  for (const std::string& level : levels)
    fastbp_test::at_level(level, [&] {
      CHECK_CLOSE(fastbp_test::worst_difference(predict(frozen, X, n), before), 0.0,
                  sizeof(T) == 4 ? 1e-5 : 1e-12, level + ": the snapshot after a level change");
    });
}

}  // namespace

int main() {
  // Every product on the team, on a loaded machine too.
  fastbp::set_parallel_threshold(0);
  fastbp::set_adapt_to_load(false);
  std::vector<std::string> levels;
  for (const std::string& level : fastbp::available_simd_levels()) levels.push_back(level);
  for (const std::string& level : levels) {
    std::printf("testing Predictor at level %s\n", level.c_str());
    test_matches_network<float>(level);
    test_matches_network<double>(level);
    test_matches_network<float>(level, fastbp::MatmulPrecision::bfloat16);
  }
  test_snapshot_and_level_change<float>(levels);
  test_snapshot_and_level_change<double>(levels);
  return fastbp_test::finish("test_predictor");
}
