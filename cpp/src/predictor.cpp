#include "fastbp/predictor.hpp"

#include <algorithm>

#include "aligned_allocator.hpp"
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
  const typename Network<T>::Impl& from = *source.impl_;
  detail::InferenceLock lock(from.guard);
  impl_ =
      std::make_unique<Impl>(Impl{Network<T>(from.arch.layers, source.hidden(), source.output(),
                                             source.loss_function(), 0, source.matmul_precision()),
                                  {},
                                  {}});
  Network<T>& net = impl_->network;
  std::copy(source.parameters(), source.parameters() + source.n_parameters(), net.parameters());
  const detail::Architecture& arch = net.impl_->arch;
  const std::size_t L = arch.n_weight_layers();
  impl_->panels.resize(L);
  impl_->view.layer.resize(L);
  for (std::size_t l = 0; l < L; ++l) {
    const std::ptrdiff_t n_in = arch.layers[l], n_out = arch.layers[l + 1];
    detail::assign_or_explain(impl_->panels[l], detail::panels_size<T>(n_in, n_out), T(0),
                              "the predictor's packed weights");
    impl_->view.packed_for = detail::pack_b_panels<T>(
        n_in, n_out,
        detail::row_major<T>(net.parameters() + net.weight_offset(l), n_out)
            .at_bfloat16(arch.bfloat16_operands),
        impl_->panels[l].data());
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
void Predictor<T>::predict(Inputs<T> X, std::ptrdiff_t n, T* out) const {
  const typename Network<T>::Impl& m = *impl_->network.impl_;
  detail::check_input(m.arch, X, n);
  m.predict(X, n, out, &impl_->view);  // (the snapshot never trains: no lock to take)
}

template class Predictor<float>;
template class Predictor<double>;

}  // namespace fastbp
