// The run-time ISA choice on whatever CPU runs this: the library loads, picks the best level the
// CPU has (or the one named by --expect), and trains and predicts there with the same results as
// on the portable level. Small enough to run under an emulator (CI runs it with qemu-x86_64 as
// CPUs without AVX-512 and without AVX2: the dispatcher must never execute an instruction the CPU
// lacks, which a host with AVX-512 cannot show).
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "check.hpp"
#include "fastbp/fastbp.hpp"

namespace {

// Two epochs of online (batch-1) and mini-batch SGD on a small network, then its predictions.
std::vector<float> train_and_predict() {
  const std::vector<std::ptrdiff_t> layers = {7, 17, 3};
  fastbp::Network<float> net(layers, fastbp::Activation::tanh, fastbp::Activation::softmax,
                             fastbp::Loss::softmax_ce, 5);
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0, 1);
  const std::ptrdiff_t n = 40;
  std::vector<float> X(std::size_t(n * layers[0]));
  for (float& x : X) x = normal(rng);
  std::vector<std::int64_t> labels(static_cast<std::size_t>(n));
  for (std::ptrdiff_t i = 0; i < n; ++i) labels[std::size_t(i)] = i % 3;
  fastbp::Targets<float> targets;
  targets.labels = labels.data();
  for (std::ptrdiff_t batch : {1, 8}) {
    fastbp::FitOptions options;
    options.epochs = 2;
    options.batch_size = batch;
    options.optimizer = fastbp::Optimizer::sgd(0.05, 0.9);
    net.fit(X.data(), n, targets, options);
  }
  std::vector<float> out(std::size_t(n * layers.back()));
  net.predict(X.data(), n, out.data());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string chosen = fastbp::simd_level();
  std::printf("SIMD level chosen for this CPU: %s\n", chosen.c_str());
  if (argc == 3 && std::strcmp(argv[1], "--expect") == 0 && chosen != argv[2]) {
    std::fprintf(stderr, "expected level %s on this CPU, got %s\n", argv[2], chosen.c_str());
    return 1;
  }
  const std::vector<float> best = train_and_predict();
  fastbp::set_simd_level("portable");
  const std::vector<float> portable = train_and_predict();
  for (std::size_t i = 0; i < best.size(); ++i)
    CHECK_CLOSE(best[i], portable[i], 1e-4, "prediction " + std::to_string(i) + " (" + chosen +
                                                " vs portable)");
  return fastbp_test::finish("test_dispatch");
}
