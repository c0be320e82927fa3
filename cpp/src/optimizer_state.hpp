// What an optimizer keeps between steps: its state arrays, laid out like the parameters (named
// by its descriptor: velocity; first and second moment; previous gradient and step size;
// momentum), and the number of steps taken with them (Adam's t).
#pragma once

#include <array>
#include <cstddef>
#include <string>

#include "aligned_allocator.hpp"
#include "allocation.hpp"
#include "fastbp/optimizer.hpp"
#include "kernels/kernel_table.hpp"
#include "optimizer_rules.hpp"

namespace fastbp::detail {

template <typename T>
class OptimizerState {
 public:
  // Gets the state ready for `o` over `n_parameters` values: a different kind than the last one
  // clears it; arrays the settings need are allocated, at their initial values, the first time.
  void prepare(const Optimizer& o, std::size_t n_parameters) {
    if (o.kind != kind_) {
      clear();
      kind_ = o.kind;
    }
    for (int i = 0; i < state_arrays(o); ++i)
      if (arrays_[std::size_t(i)].empty())
        assign_or_explain(arrays_[std::size_t(i)], n_parameters, T(initial_state(o, i)),
                          "the optimizer state");
  }

  // Forgets every array and the step count (memory released).
  void clear() {
    for (auto& a : arrays_) AlignedVector<T>().swap(a);
    steps_ = 0;
  }

  // Every array at `offset` (a parameter array's offset), null where unused.
  kernels::StatePointers<T> at(std::size_t offset) {
    kernels::StatePointers<T> s;
    for (int i = 0; i < kernels::kMaxStateArrays; ++i)
      s.array[i] = arrays_[std::size_t(i)].empty() ? nullptr : arrays_[std::size_t(i)].data() + offset;
    return s;
  }

  // The array named `name` by the current optimizer's descriptor, or null.
  const T* array(const std::string& name) const {
    for (const OptimizerInfo& info : optimizer_table())
      if (info.kind == kind_)
        for (std::size_t i = 0; i < info.state_names.size(); ++i)
          if (info.state_names[i] == name && !arrays_[i].empty()) return arrays_[i].data();
    return nullptr;
  }

  // The arrays in use (data-parallel training averages them between processes).
  template <typename Visit>
  void for_each_array(Visit&& visit) {
    for (auto& a : arrays_)
      if (!a.empty()) visit(a.data(), a.size());
  }

  OptimizerKind kind() const { return kind_; }
  long long steps() const { return steps_; }
  void count_step() { ++steps_; }

 private:
  std::array<AlignedVector<T>, kernels::kMaxStateArrays> arrays_;
  OptimizerKind kind_ = OptimizerKind::sgd;
  long long steps_ = 0;
};

}  // namespace fastbp::detail
