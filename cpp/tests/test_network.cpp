// The network layer through the public C++ API only: gradients against central differences,
// SGD steps against the gradients, training that learns, errors for bad input.
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "check.hpp"
#include "fastbp/fastbp.hpp"

using fastbp::Activation;
using fastbp::Loss;
using fastbp::Network;
using fastbp::Targets;

namespace {

double gradient_error(Activation hidden, Activation output, Loss loss, bool labels) {
  std::mt19937 rng(7);
  std::normal_distribution<double> normal(0, 1);
  const std::vector<std::ptrdiff_t> layers = {4, 7, 5, 3};
  Network<double> net(layers, hidden, output, loss, 123);
  for (std::size_t l = 0; l < net.n_weight_layers(); ++l)
    for (std::ptrdiff_t j = 0; j < layers[l + 1]; ++j)
      net.parameters()[net.bias_offset(l) + std::size_t(j)] = 0.1 * normal(rng);
  const std::ptrdiff_t n = 6;
  std::vector<double> X(n * 4), T(n * 3);
  std::vector<std::int64_t> y(n);
  for (auto& v : X) v = normal(rng);
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    y[std::size_t(i)] = i % 3;
    for (int k = 0; k < 3; ++k)
      T[std::size_t(i * 3 + k)] = loss == Loss::mse ? normal(rng) : (k == i % 3 ? 1.0 : 0.0);
  }
  Targets<double> t;
  if (labels)
    t.labels = y.data();
  else
    t.values = T.data();
  std::vector<double> grad(net.n_parameters());
  net.gradients(X.data(), n, t, grad.data());
  double worst = 0, scale = 0;
  const double eps = 1e-6;
  for (std::size_t p = 0; p < net.n_parameters(); ++p) {
    double& w = net.parameters()[p];
    const double original = w;
    w = original + eps;
    const double plus = net.loss(X.data(), n, t);
    w = original - eps;
    const double minus = net.loss(X.data(), n, t);
    w = original;
    const double numeric = (plus - minus) / (2 * eps);
    worst = std::fmax(worst, std::fabs(numeric - grad[p]));
    scale = std::fmax(scale, std::fabs(grad[p]));
  }
  return worst / std::fmax(scale, 1e-300);
}

void test_gradients_against_finite_differences() {
  const Activation hidden[] = {Activation::identity, Activation::relu, Activation::leaky_relu,
                               Activation::sigmoid, Activation::tanh};
  for (Activation h : hidden) {
    const std::string name = std::string("hidden=") + fastbp::to_string(h);
    CHECK_CLOSE(gradient_error(h, Activation::softmax, Loss::softmax_ce, true), 0, 1e-6,
                name + " softmax_ce labels");
    CHECK_CLOSE(gradient_error(h, Activation::softmax, Loss::softmax_ce, false), 0, 1e-6,
                name + " softmax_ce");
    CHECK_CLOSE(gradient_error(h, Activation::sigmoid, Loss::bce, false), 0, 1e-6, name + " bce");
    CHECK_CLOSE(gradient_error(h, Activation::identity, Loss::mse, false), 0, 1e-6, name + " mse");
    CHECK_CLOSE(gradient_error(h, Activation::tanh, Loss::mse, false), 0, 1e-6, name + " tanh+mse");
  }
}

void test_train_step_is_gradient_step() {
  Network<double> a({3, 5, 2}, Activation::tanh, Activation::identity, Loss::mse, 1);
  Network<double> b({3, 5, 2}, Activation::tanh, Activation::identity, Loss::mse, 1);
  const double X[] = {0.1, -0.2, 0.3, 1.0, 0.5, -1.5};
  const double T[] = {1, 0, 0, 1};
  Targets<double> t;
  t.values = T;
  std::vector<double> grad(a.n_parameters());
  const double loss_grad = a.gradients(X, 2, t, grad.data());
  const double loss_step = b.train_step(X, 2, t, 0.25);
  CHECK_CLOSE(loss_step, loss_grad, 1e-15, "loss returned by train_step");
  for (std::size_t p = 0; p < a.n_parameters(); ++p)
    CHECK_CLOSE(b.parameters()[p], a.parameters()[p] - 0.25 * grad[p], 1e-14,
                "parameter " + std::to_string(p));
}

void test_fit_learns_xor() {
  Network<float> net({2, 8, 1}, Activation::tanh, Activation::sigmoid, Loss::bce, 0);
  const float X[] = {0, 0, 0, 1, 1, 0, 1, 1};
  const float T[] = {0, 1, 1, 0};
  Targets<float> t;
  t.values = T;
  fastbp::FitOptions options;
  options.epochs = 3000;
  options.batch_size = 1;
  options.optimizer.learning_rate = 0.2;
  const auto history = net.fit(X, 4, t, options);
  CHECK(history.size() == 3000);
  CHECK(history.back().loss < 0.01);
  float out[4];
  net.predict(X, 4, out);
  for (int i = 0; i < 4; ++i) CHECK((out[i] > 0.5f) == (T[i] > 0.5f));
}

template <typename F>
bool throws_invalid_argument(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument&) {
    return true;
  }
  return false;
}

void test_bad_input_throws() {
  using V = std::vector<std::ptrdiff_t>;
  CHECK(throws_invalid_argument(
      [] { Network<float>(V{3}, Activation::relu, Activation::identity, Loss::mse, 0); }));
  CHECK(throws_invalid_argument(
      [] { Network<float>(V{3, 0}, Activation::relu, Activation::identity, Loss::mse, 0); }));
  CHECK(throws_invalid_argument(
      [] { Network<float>(V{3, 2}, Activation::relu, Activation::identity, Loss::bce, 0); }));
  CHECK(throws_invalid_argument(
      [] { Network<float>(V{3, 1}, Activation::relu, Activation::softmax, Loss::softmax_ce, 0); }));
  CHECK(throws_invalid_argument([] {
    Network<float>(V{std::ptrdiff_t(1) << 40, std::ptrdiff_t(1) << 40}, Activation::relu,
                   Activation::identity, Loss::mse, 0);
  }));
  Network<float> net({2, 3}, Activation::relu, Activation::softmax, Loss::softmax_ce, 0);
  const float X[] = {0, 0};
  const std::int64_t bad_label[] = {3};
  Targets<float> t;
  t.labels = bad_label;
  CHECK(throws_invalid_argument([&] { net.train_step(X, 1, t, 0.1f); }));
  CHECK(throws_invalid_argument([&] { net.loss(X, 0, t); }));
  const std::int64_t good_label[] = {1};
  t.labels = good_label;
  CHECK(throws_invalid_argument([&] { net.train_step(X, 1, t, -0.1f); }));
  CHECK(throws_invalid_argument([&] { fastbp::set_num_threads(0); }));
  CHECK(throws_invalid_argument([] { fastbp::parse_activation("swish"); }));
}

// The public API's sparse input: fit on CSR rows leaves the weights that fit on the same rows
// densified does (Adam: every row of W[0] moves, the untouched ones by their moments).
void test_sparse_rows_train_like_their_dense_matrix() {
  const std::ptrdiff_t n = 9, n_in = 13;
  std::vector<std::int64_t> indptr{0}, indices;
  std::vector<double> values, dense(std::size_t(n * n_in), 0.0);
  std::mt19937 rng(3);
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    for (int k = 0; k < int(i % 4); ++k) {  // row 0 is empty
      const std::int64_t col = std::int64_t(rng() % n_in);
      const double v = double(rng() % 100) / 50.0 - 1.0;
      indices.push_back(col);
      values.push_back(v);
      dense[std::size_t(i * n_in + col)] += v;
    }
    indptr.push_back(std::int64_t(indices.size()));
  }
  std::vector<std::int64_t> labels(n);
  for (std::ptrdiff_t i = 0; i < n; ++i) labels[std::size_t(i)] = i % 3;
  Targets<double> t;
  t.labels = labels.data();
  fastbp::FitOptions options;
  options.epochs = 3;
  options.batch_size = 4;
  options.optimizer = fastbp::Optimizer::adam(0.01);
  Network<double> sparse_net({n_in, 6, 3}, Activation::tanh, Activation::softmax,
                             Loss::softmax_ce, 5);
  Network<double> dense_net({n_in, 6, 3}, Activation::tanh, Activation::softmax,
                            Loss::softmax_ce, 5);
  sparse_net.fit(fastbp::SparseRows<double>{indptr.data(), indices.data(), values.data()}, n, t,
                 options);
  dense_net.fit(dense.data(), n, t, options);
  double worst = 0;
  for (std::size_t p = 0; p < sparse_net.n_parameters(); ++p)
    worst = std::fmax(worst, std::fabs(sparse_net.parameters()[p] - dense_net.parameters()[p]));
  CHECK_CLOSE(worst, 0.0, 1e-12, "sparse fit against dense fit");
  // The flat objective takes either kind of input as it comes (T deduced from the network).
  std::vector<double> flat(fastbp::flat_size(dense_net)), g_dense(flat.size()),
      g_sparse(flat.size());
  fastbp::get_flat_parameters(dense_net, flat.data());
  const double l_dense =
      fastbp::loss_and_gradient(dense_net, flat.data(), dense.data(), n, t, 0.1, 1.0,
                                g_dense.data());
  const double l_sparse = fastbp::loss_and_gradient(
      sparse_net, flat.data(),
      fastbp::SparseRows<double>{indptr.data(), indices.data(), values.data()}, n, t, 0.1, 1.0,
      g_sparse.data());
  CHECK_CLOSE(l_sparse, l_dense, 1e-12, "objective on sparse rows");
  for (std::size_t p = 0; p < flat.size(); ++p)
    CHECK_CLOSE(g_sparse[p], g_dense[p], 1e-12, "objective gradient on sparse rows");
  std::vector<std::int64_t> bad = indices;
  bad[1] = n_in;  // a column past the last
  CHECK(throws_invalid_argument([&] {
    sparse_net.train_step(fastbp::SparseRows<double>{indptr.data(), bad.data(), values.data()},
                          n, t, 0.1);
  }));
}

}  // namespace

int main() {
  test_gradients_against_finite_differences();
  test_train_step_is_gradient_step();
  test_fit_learns_xor();
  test_bad_input_throws();
  test_sparse_rows_train_like_their_dense_matrix();
  return fastbp_test::finish("test_network");
}
