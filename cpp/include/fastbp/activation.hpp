// Activation functions and losses: the names the whole library (and its Python face) uses, and
// what each one is. Their formulas live in one descriptor each (cpp/src/descriptors/).
#pragma once

#include <string>
#include <vector>

namespace fastbp {

enum class Activation {
  identity,
  relu,
  leaky_relu,  // slope kLeakyReluSlope below 0
  sigmoid,
  tanh,
  elu,        // alpha 1: z if z > 0 else exp(z) - 1
  softplus,   // log(1 + exp(z))
  silu,       // z sigmoid(z)
  gelu,       // z Phi(z), exact (erf)
  gelu_tanh,  // PyTorch's approximate="tanh"
  softmax,    // output layer only, row-wise
  exp,        // output layer only: the log link's inverse (counts, rates; loss poisson)
};

// Per-sample losses; the batch loss is the mean over samples (weighted, with sample weights).
//   mse        = 0.5 * sum_k (y_k - t_k)^2
//   softmax_ce = -sum_k t_k log y_k                       (softmax output)
//   bce        = -sum_k [t_k log y_k + (1-t_k) log(1-y_k)] (sigmoid output)
//   huber      = sum_k h(y_k - t_k), h(d) = d^2/2 if |d| <= delta else delta (|d| - delta/2)
//   poisson    = sum_k [t_k log(t_k / y_k) - t_k + y_k]   (exp output; half the deviance)
enum class Loss { mse, softmax_ce, bce, huber, poisson };

// A loss and its parameter (Huber's delta; ignored by the others). Converts from a Loss.
struct LossFunction {
  Loss kind = Loss::mse;
  double delta = 1.0;
  LossFunction() = default;
  LossFunction(Loss loss, double huber_delta = 1.0) : kind(loss), delta(huber_delta) {}
};

// Slope of leaky_relu for negative inputs.
inline constexpr double kLeakyReluSlope = 0.01;

// Parsing throws std::invalid_argument naming the valid choices.
Activation parse_activation(const std::string& name);
Loss parse_loss(const std::string& name);
const char* to_string(Activation activation);
const char* to_string(Loss loss);

// What an activation is, from its descriptor: for the Python package's name lists, PyTorch
// conversion, ONNX and C export, and for documentation.
struct ActivationInfo {
  Activation kind;
  const char* name;
  const char* alias;          // another accepted name ("" if none)
  bool output_only;           // softmax: a row operation on the output layer
  bool derivative_needs_input;  // training keeps the pre-activation of such layers
  const char* init;           // "he" or "glorot" (uniform variants)
  const char* torch_module;   // torch.nn class computing it ("" for identity)
  const char* torch_arguments;  // its constructor arguments, "name=value,..."
  const char* onnx_op;          // the ONNX operator computing it ("" for identity)
  const char* onnx_attributes;  // its attributes, "name=value,..." (times_input=1: times z)
  const char* c_forward;        // act(z) as a C99 float expression of z ("" for softmax)
};
const std::vector<ActivationInfo>& activation_table();

struct LossInfo {
  Loss kind;
  const char* name;
  const char* output;  // the output activation it needs ("" for any element-wise one)
};
const std::vector<LossInfo>& loss_table();

// The loss that pairs with an output activation by default (softmax->softmax_ce,
// sigmoid->bce, anything else->mse).
Loss default_loss_for(Activation output);

// Throws std::invalid_argument naming the parameter when it is out of range (Huber's delta must
// be finite and > 0).
void validate(const LossFunction& loss);

// Throws std::invalid_argument for pairings the library does not support: softmax_ce needs
// a softmax output with >= 2 units, bce a sigmoid output, softmax output needs softmax_ce; and
// for a loss whose parameter is out of range.
void check_output_loss_pairing(Activation output, const LossFunction& loss, long n_out);

}  // namespace fastbp
