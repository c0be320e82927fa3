// Many models created, trained with every optimizer and path (online, mini-batch, fit with
// validation and early stopping, divergence, bad input), moved and destroyed, on one and two
// threads: run under AddressSanitizer/LeakSanitizer in CI, where any leak, overflow or
// use-after-free fails the run. Also the C++ API's size checks before allocation.
#include <cstdint>
#include <limits>
#include <new>
#include <random>
#include <stdexcept>
#include <utility>
#include <vector>

#include "check.hpp"
#include "fastbp/fastbp.hpp"

using fastbp::Activation;
using fastbp::Loss;
using fastbp::Network;
using fastbp::Optimizer;

namespace {

template <typename T>
void train_and_destroy(const Optimizer& optimizer, std::ptrdiff_t batch, std::uint64_t seed) {
  std::mt19937 rng{static_cast<unsigned>(seed)};
  std::normal_distribution<double> normal(0, 1);
  const std::vector<std::ptrdiff_t> layers = {5, 17, 9, 3};
  const std::ptrdiff_t n = 40;
  std::vector<T> X(static_cast<std::size_t>(n * 5));
  std::vector<std::int64_t> y(static_cast<std::size_t>(n));
  for (auto& v : X) v = T(normal(rng));
  for (std::ptrdiff_t i = 0; i < n; ++i) y[std::size_t(i)] = i % 3;
  fastbp::Targets<T> t;
  t.labels = y.data();
  Network<T> net(layers, Activation::tanh, Activation::softmax, Loss::softmax_ce, seed);

  fastbp::FitOptions options;
  options.epochs = 6;
  options.batch_size = batch;
  options.optimizer = optimizer;
  options.patience = 2;
  options.schedule.kind = fastbp::ScheduleKind::plateau;
  options.schedule.patience = 1;
  fastbp::ValidationSet<T> validation{X.data(), 10, t};
  const auto logs = net.fit(X.data(), n, t, options, &validation);
  CHECK(!logs.empty());
  for (int step = 0; step < 3; ++step) net.train_step(X.data(), batch, t, optimizer);
  std::vector<T> grad(net.n_parameters());
  CHECK(std::isfinite(net.gradients(X.data(), n, t, grad.data())));
  std::vector<T> out(std::size_t(n * 3));
  net.predict(X.data(), n, out.data());

  Network<T> moved(std::move(net));  // the moved-from model is destroyed empty
  moved.reset_optimizer();
  moved.predict(X.data(), 1, out.data());

  // Divergence in the middle of a fit: a NaN target makes a batch's loss NaN, the error unwinds
  // through the loop, and the weights are put back.
  std::vector<T> one_hot(static_cast<std::size_t>(n * 3), T(0));
  for (std::ptrdiff_t i = 0; i < n; ++i) one_hot[std::size_t(i * 3 + i % 3)] = T(1);
  one_hot[std::size_t(3 * (n - 1))] = std::numeric_limits<T>::quiet_NaN();  // the last sample
  fastbp::Targets<T> poisoned;
  poisoned.values = one_hot.data();
  const std::vector<T> before(moved.parameters(), moved.parameters() + moved.n_parameters());
  fastbp::FitOptions wild = options;
  wild.shuffle = false;  // the last batch holds the NaN
  bool diverged = false;
  try {
    moved.fit(X.data(), n, poisoned, wild);
  } catch (const fastbp::DivergenceError& e) {
    diverged = e.epoch() == 1 && e.batch() == (n + batch - 1) / batch;
  }
  CHECK(diverged);
  const std::vector<T> after(moved.parameters(), moved.parameters() + moved.n_parameters());
  CHECK(before == after);
  // Bad input unwinds before any allocation.
  try {
    moved.train_step(X.data(), 0, t, optimizer);
    CHECK(false);
  } catch (const std::invalid_argument&) {
  }
}

void test_many_lifecycles(int threads) {
  fastbp::set_num_threads(threads);
  const Optimizer optimizers[] = {
      Optimizer::sgd(0.05), Optimizer::sgd(0.05, 0.9), Optimizer::sgd(0.05, 0.9, true, 1e-3),
      Optimizer::adam(),    Optimizer::adamw(),        Optimizer::rprop()};
  std::uint64_t seed = 0;
  for (int round = 0; round < 5; ++round)
    for (const Optimizer& o : optimizers)
      for (std::ptrdiff_t batch : {1, 7, 40}) {
        train_and_destroy<float>(o, batch, ++seed);
        train_and_destroy<double>(o, batch, ++seed);
      }
}

void test_sizes_are_checked_before_allocation() {
  const std::ptrdiff_t big = std::numeric_limits<std::ptrdiff_t>::max() / 4;
  try {
    Network<float> net({big, big, 2}, Activation::relu, Activation::identity, Loss::mse, 0);
    CHECK(false);
  } catch (const std::invalid_argument&) {
  }
  try {
    Network<float> net({3, -1, 2}, Activation::relu, Activation::identity, Loss::mse, 0);
    CHECK(false);
  } catch (const std::invalid_argument&) {
  }
  Network<float> net({3, 4, 2}, Activation::relu, Activation::identity, Loss::mse, 0);
  std::vector<float> x(3), out(2);
  try {
    net.predict(x.data(), big, out.data());  // n x width overflows
    CHECK(false);
  } catch (const std::invalid_argument&) {
  }
  fastbp::FitOptions bad;
  bad.optimizer.learning_rate = -1;
  std::vector<float> T(2);
  fastbp::Targets<float> t;
  t.values = T.data();
  try {
    net.fit(x.data(), 1, t, bad);
    CHECK(false);
  } catch (const std::invalid_argument&) {
  }
}

}  // namespace

int main() {
  test_many_lifecycles(1);
  test_many_lifecycles(2);
  test_sizes_are_checked_before_allocation();
  return fastbp_test::finish("test_lifecycle");
}
