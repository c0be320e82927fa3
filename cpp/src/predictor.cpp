#include "fastbp/predictor.hpp"

#include <algorithm>

#include "checks.hpp"
#include "gemm.hpp"
#include "locks.hpp"
#include "network_impl.hpp"
#include "passes.hpp"

namespace fastbp {

template <typename T>
struct Predictor<T>::Impl {
  Network<T> network;
  std::vector<detail::AlignedVector<T>> panels;  // per layer
  detail::WeightPanels<T> view;
};

template <typename T>
Predictor<T>::Predictor(const Network<T>& source) {
  impl_ =
      std::make_unique<Impl>(Impl{Network<T>(source.layers(), source.hidden(), source.output(),
                                             source.loss_function(), 0, source.matmul_precision()),
                                  {},
                                  {}});
  Network<T>& net = impl_->network;
  {
    // Only the copy waits for (and holds off) training: the packing reads the snapshot.
    detail::InferenceLock lock(source.impl_->guard);
    std::copy(source.parameters(), source.parameters() + source.n_parameters(), net.parameters());
  }
  const detail::Architecture& arch = net.impl_->arch;
  const std::size_t L = arch.n_weight_layers();
  impl_->panels.resize(L);
  impl_->view.layer.resize(L);
  for (std::size_t l = 0; l < L; ++l) {
    const std::ptrdiff_t n_in = arch.layers[l], n_out = arch.layers[l + 1];
    const void* packed_for = detail::pack_b_panels<T>(
        n_in, n_out,
        detail::row_major<T>(net.parameters() + net.weight_offset(l), n_out)
            .at_bfloat16(arch.bfloat16_operands),
        impl_->panels[l]);
    // After a change of SIMD level between two layers, no panels are used at all rather than
    // some packed for kernels other than the recorded ones.
    if (l == 0)
      impl_->view.packed_for = packed_for;
    else if (packed_for != impl_->view.packed_for)
      impl_->view.packed_for = nullptr;
    impl_->view.layer[l] = impl_->panels[l].data();
  }
}

template <typename T>
Predictor<T>::~Predictor() = default;
template <typename T>
Predictor<T>::Predictor(Predictor&&) noexcept = default;
template <typename T>
Predictor<T>& Predictor<T>::operator=(Predictor&&) noexcept = default;

template <typename T>
const std::vector<std::ptrdiff_t>& Predictor<T>::layers() const {
  return impl_->network.layers();
}

template <typename T>
const Network<T>& Predictor<T>::network() const {
  return impl_->network;
}

template <typename T>
void Predictor<T>::predict(Inputs<T> X, std::ptrdiff_t n, T* out) const {
  const typename Network<T>::Impl& m = *impl_->network.impl_;
  detail::check_input(m.arch, X, n);
  m.predict(X, n, out, &impl_->view);  // (the snapshot never trains: no lock to take)
}

template class Predictor<float>;
template class Predictor<double>;

}  // namespace fastbp
