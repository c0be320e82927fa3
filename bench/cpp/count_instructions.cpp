// One workload's fit for a fixed amount of work, on one thread, for instruction counts:
//   valgrind --tool=callgrind --callgrind-out-file=/dev/null ./count_instructions mnist-mlp adam
// Instruction counts repeat to the last digit whatever else the machine does, where wall-clock
// timings on a shared two-core machine vary by half; comparing two builds of fastbp on the same
// workload tells a change in the code's work (not in its memory traffic) apart from noise.
#include <cstdio>
#include <cstring>
#include <string>

#include "workloads.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s WORKLOAD [sgd|momentum|nesterov|adam] [SAMPLES]\n", argv[0]);
    return 2;
  }
  const std::string name = argv[1], kind = argc > 2 ? argv[2] : "sgd";
  for (const fastbp_bench::Workload& w : fastbp_bench::workloads()) {
    if (name != w.name) continue;
    const std::ptrdiff_t samples = argc > 3 ? std::atol(argv[3]) : 64 * w.batch;
    fastbp::set_num_threads(1);
    const fastbp_bench::Data<float> data(w, samples);
    fastbp::Network<float> net(w.layers, w.hidden, w.output, w.loss, 0);
    fastbp::FitOptions options;
    options.epochs = 1;
    options.batch_size = w.batch;
    options.optimizer = kind == "momentum"   ? fastbp::Optimizer::sgd(0.01, 0.9)
                        : kind == "nesterov" ? fastbp::Optimizer::sgd(0.01, 0.9, true)
                        : kind == "adam"     ? fastbp::Optimizer::adam(0.001)
                                             : w.sgd();  // the workload's own SGD
    const auto history = net.fit(data.X.data(), data.n, data.targets(w), options);
    std::printf("%s %s: %td samples, loss %.6f\n", w.name, kind.c_str(), samples,
                history.back().loss);
    return 0;
  }
  std::fprintf(stderr, "unknown workload '%s'\n", name.c_str());
  return 2;
}
