// Trains XOR with an installed fastbp and exits non-zero unless it learned it.
#include <cstdint>
#include <cstdio>
#include <vector>

#include <fastbp/fastbp.hpp>

int main() {
  const std::vector<float> X = {0, 0, 0, 1, 1, 0, 1, 1};
  const std::vector<std::int64_t> labels = {0, 1, 1, 0};
  fastbp::Network<float> net({2, 16, 2}, fastbp::Activation::tanh, fastbp::Activation::softmax,
                             fastbp::Loss::softmax_ce, /*seed=*/1);
  fastbp::Targets<float> targets;
  targets.labels = labels.data();
  fastbp::FitOptions options;
  options.epochs = 500;
  options.batch_size = 4;
  options.optimizer = fastbp::Optimizer::adam(0.05);
  const auto history = net.fit(X.data(), 4, targets, options);
  std::vector<float> p(8);
  net.predict(X.data(), 4, p.data());
  int right = 0;
  for (int i = 0; i < 4; ++i) right += (p[2 * i + 1] > p[2 * i]) == (labels[i] == 1);
  std::printf("fastbp %s: XOR loss %.4f after %zu epochs, %d of 4 right\n", fastbp::kVersion,
              history.back().loss, history.size(), right);
  return right == 4 ? 0 : 1;
}
