// Data-parallel training: one model trained by several processes, each calling Network::fit
// with the same settings and a DataParallel saying how their batches combine. fastbp never
// links an MPI library: `sum` is the caller's collective (from Python, mpi4py's Allreduce).
#pragma once

#include <cstddef>
#include <functional>

namespace fastbp {

enum class Sharding {
  // Every process holds the whole data set and draws the same permutation (the same seed):
  // each batch of batch_size * size rows is split among the processes.
  global,
  // Each process holds its own part and shuffles its own rows (with the seed of the options);
  // an epoch has steps_per_epoch steps (the most batches of any process), and a process whose
  // batches have run out joins the remaining steps with no rows.
  local,
};

template <typename T>
struct DataParallel {
  int rank = 0;
  int size = 1;
  Sharding sharding = Sharding::global;
  std::ptrdiff_t steps_per_epoch = 0;  // local sharding only
  // 0: synchronous steps: every step sums the gradients of all processes, weighted by their
  // rows (the steps of one process with the batches of all). k > 0: local SGD: each process
  // takes fused steps on its own batches, and every k steps, and at the end of each epoch, the
  // parameters and the optimizer state are averaged.
  int average_every = 0;
  // Sums `count` values over the processes, in place. Every process calls it at the same
  // points in the same order (an MPI Allreduce), and every process must get the same bits:
  // replicas stay identical because they apply identical sums. Synchronous steps call it from
  // a thread of fit's own, so that each layer's sum overlaps the backward pass of the layers
  // below it: never from two threads at once (MPI_THREAD_SERIALIZED is enough).
  std::function<void(T* values, std::size_t count)> sum;
};

}  // namespace fastbp
