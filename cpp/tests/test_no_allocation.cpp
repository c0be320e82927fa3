// A steady-state train step performs no heap allocation: operator new is counted around steps
// that follow a warm-up step of the same batch size, on 1 and 2 threads.
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "check.hpp"
#include "fastbp/fastbp.hpp"

namespace {
std::atomic<long> g_allocations{0};
}

void* operator new(std::size_t size) {
  ++g_allocations;
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, std::align_val_t align) {
  ++g_allocations;
  const std::size_t a = std::size_t(align);
  if (void* p = std::aligned_alloc(a, (size + a - 1) / a * a)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}

namespace {

void check_steady_state(const std::vector<std::ptrdiff_t>& layers, std::ptrdiff_t batch,
                        float momentum) {
  fastbp::Network<float> net(layers, fastbp::Activation::relu, fastbp::Activation::softmax,
                             fastbp::Loss::softmax_ce, 1);
  std::vector<float> X(std::size_t(batch * layers.front()), 0.5f);
  std::vector<std::int64_t> labels(std::size_t(batch), 1);
  fastbp::Targets<float> t;
  t.labels = labels.data();
  net.train_step(X.data(), batch, t, 0.01f, momentum);  // warm-up: workspaces are sized here
  const long before = g_allocations.load();
  for (int step = 0; step < 5; ++step) net.train_step(X.data(), batch, t, 0.01f, momentum);
  const long allocations = g_allocations.load() - before;
  CHECK_CLOSE(double(allocations), 0.0, 0.0,
              "allocations in 5 steady-state steps, batch " + std::to_string(batch) + ", threads " +
                  std::to_string(fastbp::get_num_threads()));
}

}  // namespace

int main() {
  for (int threads : {1, 2}) {
    fastbp::set_num_threads(threads);
    check_steady_state({2, 8, 2}, 1, 0.0f);
    check_steady_state({784, 128, 10}, 1, 0.0f);
    check_steady_state({784, 256, 128, 10}, 64, 0.9f);
    check_steady_state({1024, 700, 300, 10}, 256, 0.0f);
  }
  return fastbp_test::finish("test_no_allocation");
}
