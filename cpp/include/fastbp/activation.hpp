// Activation functions and losses: the names the whole library (and its Python face) uses.
#pragma once

#include <string>

namespace fastbp {

enum class Activation { identity, relu, leaky_relu, sigmoid, tanh, softmax };

// Per-sample losses; the batch loss is the mean over samples.
//   mse        = 0.5 * sum_k (y_k - t_k)^2
//   softmax_ce = -sum_k t_k log y_k                       (softmax output)
//   bce        = -sum_k [t_k log y_k + (1-t_k) log(1-y_k)] (sigmoid output)
enum class Loss { mse, softmax_ce, bce };

// Slope of leaky_relu for negative inputs.
inline constexpr double kLeakyReluSlope = 0.01;

// Parsing throws std::invalid_argument naming the valid choices.
Activation parse_activation(const std::string& name);
Loss parse_loss(const std::string& name);
const char* to_string(Activation activation);
const char* to_string(Loss loss);

// The loss that pairs with an output activation by default (softmax->softmax_ce,
// sigmoid->bce, anything else->mse).
Loss default_loss_for(Activation output);

// Throws std::invalid_argument for pairings the library does not support: softmax_ce needs
// a softmax output with >= 2 units, bce a sigmoid output, and softmax output needs softmax_ce.
void check_output_loss_pairing(Activation output, Loss loss, long n_out);

}  // namespace fastbp
