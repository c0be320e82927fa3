#include "fastbp/activation.hpp"

#include <stdexcept>
#include <string>

namespace fastbp {

Activation parse_activation(const std::string& name) {
  if (name == "identity" || name == "linear") return Activation::identity;
  if (name == "relu") return Activation::relu;
  if (name == "leaky_relu") return Activation::leaky_relu;
  if (name == "sigmoid" || name == "logistic") return Activation::sigmoid;
  if (name == "tanh") return Activation::tanh;
  if (name == "softmax") return Activation::softmax;
  throw std::invalid_argument("unknown activation '" + name +
                              "'; expected one of identity, relu, leaky_relu, sigmoid, tanh, "
                              "softmax");
}

Loss parse_loss(const std::string& name) {
  if (name == "mse") return Loss::mse;
  if (name == "softmax_ce") return Loss::softmax_ce;
  if (name == "bce") return Loss::bce;
  throw std::invalid_argument("unknown loss '" + name + "'; expected one of mse, softmax_ce, bce");
}

const char* to_string(Activation activation) {
  switch (activation) {
    case Activation::identity:
      return "identity";
    case Activation::relu:
      return "relu";
    case Activation::leaky_relu:
      return "leaky_relu";
    case Activation::sigmoid:
      return "sigmoid";
    case Activation::tanh:
      return "tanh";
    case Activation::softmax:
      return "softmax";
  }
  return "?";
}

const char* to_string(Loss loss) {
  switch (loss) {
    case Loss::mse:
      return "mse";
    case Loss::softmax_ce:
      return "softmax_ce";
    case Loss::bce:
      return "bce";
  }
  return "?";
}

Loss default_loss_for(Activation output) {
  if (output == Activation::softmax) return Loss::softmax_ce;
  if (output == Activation::sigmoid) return Loss::bce;
  return Loss::mse;
}

void check_output_loss_pairing(Activation output, Loss loss, long n_out) {
  if (loss == Loss::softmax_ce && output != Activation::softmax)
    throw std::invalid_argument(
        std::string("loss 'softmax_ce' needs output='softmax', got output='") + to_string(output) +
        "'");
  if (loss == Loss::softmax_ce && n_out < 2)
    throw std::invalid_argument("loss 'softmax_ce' needs at least 2 output units, got " +
                                std::to_string(n_out));
  if (loss == Loss::bce && output != Activation::sigmoid)
    throw std::invalid_argument(std::string("loss 'bce' needs output='sigmoid', got output='") +
                                to_string(output) + "'");
  if (output == Activation::softmax && loss != Loss::softmax_ce)
    throw std::invalid_argument(std::string("output='softmax' needs loss 'softmax_ce', got '") +
                                to_string(loss) + "'");
}

}  // namespace fastbp
