// Activation names and metadata, generated from the descriptors.
#include "fastbp/activation.hpp"

#include <stdexcept>
#include <string>

#include "descriptors.hpp"

namespace fastbp {

const std::vector<ActivationInfo>& activation_table() {
  static const std::vector<ActivationInfo> table = {
#define FASTBP_ACTIVATION_INFO(id)                                                           \
  {Activation::id,                                                                           \
   detail::ActivationDescriptor<Activation::id>::name,                                       \
   detail::ActivationDescriptor<Activation::id>::alias,                                      \
   Activation::id == Activation::softmax || Activation::id == Activation::exp,               \
   detail::ActivationDescriptor<Activation::id>::derivative_needs_input,                     \
   detail::ActivationDescriptor<Activation::id>::init == detail::Init::he ? "he" : "glorot", \
   detail::ActivationDescriptor<Activation::id>::torch_module,                               \
   detail::ActivationDescriptor<Activation::id>::torch_arguments,                            \
   detail::ActivationDescriptor<Activation::id>::onnx_op,                                    \
   detail::ActivationDescriptor<Activation::id>::onnx_attributes,                            \
   detail::ActivationDescriptor<Activation::id>::c_forward},
      FASTBP_ACTIVATIONS(FASTBP_ACTIVATION_INFO)
#undef FASTBP_ACTIVATION_INFO
  };
  return table;
}


}  // namespace fastbp
