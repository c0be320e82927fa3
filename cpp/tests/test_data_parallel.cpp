// Data-parallel fit (fastbp/data_parallel.hpp) without MPI: replicas on threads of this
// process, summing through a shared buffer. Synchronous replicas take the steps of one network
// with their batches together; local SGD averaging every step is that too for plain SGD; each
// layer's sum starts, on fit's own thread, while the layers below it are still computing.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "check.hpp"
#include "fastbp/fastbp.hpp"

using fastbp::Activation;
using fastbp::DataParallel;
using fastbp::Loss;
using fastbp::Network;

namespace {

// An Allreduce among `size` threads: each adds its buffer, in rank order, and every one gets the
// same bits back.
class ThreadAllreduce {
 public:
  explicit ThreadAllreduce(int size) : size_(size), buffers_(std::size_t(size)) {}

  void sum(int rank, double* values, std::size_t count) {
    std::unique_lock<std::mutex> lock(mutex_);
    const long generation = generation_;
    buffers_[std::size_t(rank)] = values;
    if (++arrived_ < size_) {
      done_.wait(lock, [&] { return generation_ != generation; });
      return;
    }
    for (std::size_t i = 0; i < count; ++i) {
      double total = 0;
      for (double* b : buffers_) total += b[i];
      for (double* b : buffers_) b[i] = total;
    }
    arrived_ = 0;
    ++generation_;
    done_.notify_all();
  }

 private:
  int size_, arrived_ = 0;
  long generation_ = 0;
  std::vector<double*> buffers_;
  std::mutex mutex_;
  std::condition_variable done_;
};

struct Data {
  std::ptrdiff_t n, n_in;
  std::vector<double> X;
  std::vector<std::int64_t> labels;
};

Data make_data(std::ptrdiff_t n, std::ptrdiff_t n_in, int classes) {
  Data d{n, n_in, std::vector<double>(std::size_t(n * n_in)), std::vector<std::int64_t>()};
  std::uint64_t state = 12345;
  for (double& v : d.X) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    v = double(state >> 11) / double(1ULL << 53) * 2 - 1;
  }
  for (std::ptrdiff_t i = 0; i < n; ++i) d.labels.push_back(i % classes);
  return d;
}

double largest_difference(const Network<double>& a, const Network<double>& b) {
  double worst = 0;
  for (std::size_t p = 0; p < a.n_parameters(); ++p)
    worst = std::fmax(worst, std::fabs(a.parameters()[p] - b.parameters()[p]));
  return worst;
}

// Trains `size` replicas on threads with `options` (batch per replica), global shards.
std::vector<Network<double>> train_replicas(
    int size, const std::vector<std::ptrdiff_t>& layers, const Data& d,
    const fastbp::FitOptions& options, int average_every,
    const std::function<void(int, double*, std::size_t, bool)>& observe = nullptr) {
  ThreadAllreduce allreduce(size);
  std::vector<Network<double>> replicas;
  for (int r = 0; r < size; ++r)
    replicas.emplace_back(layers, Activation::tanh, Activation::softmax, Loss::softmax_ce, 7);
  std::vector<std::thread> threads;
  for (int r = 0; r < size; ++r)
    threads.emplace_back([&, r] {
      DataParallel<double> p;
      p.rank = r;
      p.size = size;
      p.average_every = average_every;
      const std::thread::id fit_caller = std::this_thread::get_id();
      p.sum = [&, r, fit_caller](double* values, std::size_t count) {
        if (observe) observe(r, values, count, std::this_thread::get_id() == fit_caller);
        allreduce.sum(r, values, count);
      };
      fastbp::Targets<double> t;
      t.labels = d.labels.data();
      replicas[std::size_t(r)].fit(d.X.data(), d.n, t, options, nullptr, nullptr, nullptr, nullptr,
                                   &p);
    });
  for (auto& t : threads) t.join();
  return replicas;
}

Network<double> train_alone(const std::vector<std::ptrdiff_t>& layers, const Data& d,
                            fastbp::FitOptions options) {
  Network<double> net(layers, Activation::tanh, Activation::softmax, Loss::softmax_ce, 7);
  fastbp::Targets<double> t;
  t.labels = d.labels.data();
  net.fit(d.X.data(), d.n, t, options);
  return net;
}

void test_synchronous_replicas_take_the_steps_of_one_network() {
  const Data d = make_data(53, 9, 3);
  for (const fastbp::Optimizer& optimizer :
       {fastbp::Optimizer::sgd(0.1, 0.9), fastbp::Optimizer::adam(0.01)}) {
    fastbp::FitOptions options;
    options.epochs = 3;
    options.batch_size = 4;
    options.seed = 3;
    options.optimizer = optimizer;
    const auto replicas = train_replicas(3, {9, 17, 3}, d, options, 0);
    options.batch_size = 12;
    const Network<double> alone = train_alone({9, 17, 3}, d, options);
    for (const auto& r : replicas)
      CHECK_CLOSE(largest_difference(r, alone), 0.0, 1e-12, "replica against one network");
    CHECK(largest_difference(replicas[0], replicas[1]) == 0);
    CHECK(largest_difference(replicas[0], replicas[2]) == 0);
  }
}

void test_local_sgd_averaging_every_step_is_synchronous_sgd() {
  const Data d = make_data(48, 5, 3);  // every step has 4 rows on each of 2 replicas
  fastbp::FitOptions options;
  options.epochs = 2;
  options.batch_size = 4;
  options.optimizer = fastbp::Optimizer::sgd(0.2);
  const auto averaged = train_replicas(2, {5, 7, 3}, d, options, 1);
  const auto synchronous = train_replicas(2, {5, 7, 3}, d, options, 0);
  CHECK_CLOSE(largest_difference(averaged[0], synchronous[0]), 0.0, 1e-12,
              "local SGD every step against gradient sums");
}

void test_each_layer_is_summed_while_the_layers_below_compute() {
  // The first layer's gradient (2048 x 512 x 128 per replica) takes milliseconds, against the
  // microseconds the summing thread takes to wake: a margin a loaded machine does not eat. With
  // 512 inputs, and the first layer's gradient required untouched rather than unfinished, the
  // check failed in one of seven runs here.
  const std::vector<std::ptrdiff_t> layers = {2048, 512, 10};
  const Data d = make_data(2048, 2048, 10);
  fastbp::FitOptions options;
  options.epochs = 1;
  options.batch_size = 128;
  Network<double> shape(layers, Activation::tanh, Activation::softmax, Loss::softmax_ce, 7);
  const std::size_t last = shape.weight_offset(1), first_size = shape.weight_offset(1);
  std::atomic<int> calls{0}, from_caller{0}, early{0}, last_layer_sums{0};
  const auto observe = [&](int rank, double* values, std::size_t count, bool on_fit_caller) {
    if (rank != 0) return;
    ++calls;
    if (on_fit_caller) ++from_caller;
    if (count != shape.n_parameters() - last) return;
    // The last layer's sum: is the first layer's gradient (just below it) still being made? Its
    // buffer starts each step at zero, and none of its finished entries is zero.
    ++last_layer_sums;
    const double* first_layer = values - last;
    bool unfinished = false;
    for (std::size_t i = 0; i < first_size && !unfinished; ++i) unfinished = first_layer[i] == 0;
    if (unfinished) ++early;
  };
  train_replicas(2, layers, d, options, 0, observe);
  CHECK(last_layer_sums == 8);    // 2048 rows in steps of 2 x 128
  CHECK(calls == 1 + 8 * 3 + 1);  // the arguments' agreement, two layers and the figures a
                                  // step, the epoch's vote
  CHECK(from_caller == 2);        // steps on fit's own thread; agreement and vote on the caller's
  CHECK(early >= 1);              // at least one overlapped the first layer's backward pass
}

}  // namespace

int main() {
  test_synchronous_replicas_take_the_steps_of_one_network();
  test_local_sgd_averaging_every_step_is_synchronous_sgd();
  test_each_layer_is_summed_while_the_layers_below_compute();
  return fastbp_test::finish("test_data_parallel");
}
