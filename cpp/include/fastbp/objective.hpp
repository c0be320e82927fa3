// A network's training objective as a function of one flat parameter vector, for optimizers
// that work on such a vector (scipy's L-BFGS-B behind scikit-learn's solver="lbfgs" and
// fastbp.LBFGS). The vector is in double whatever T is, packed as scikit-learn packs it: every
// W[l] row-major, then every b[l].
#pragma once

#include <cstddef>

#include "fastbp/network.hpp"

namespace fastbp {

template <typename T>
std::size_t flat_size(const Network<T>& net);

// Copies the parameters out of / into the network (converted to double / to T); setting them
// is a training call (Network::set_parameters).
template <typename T>
void get_flat_parameters(const Network<T>& net, double* flat);
template <typename T>
void set_flat_parameters(Network<T>& net, const double* flat);

// Sets the network's parameters to `flat`, then returns
//   loss_scale * mean loss + 0.5 * l2 * sum_l |W[l]|^2 / n
// and writes into `grad` the gradient of mean loss + 0.5 * l2 * sum_l |W[l]|^2 / n (biases are
// exempt from l2). With sample weights the mean is weighted and n is the sum of the weights.
// That is scikit-learn's objective for every loss it has: its squared error is reported
// averaged over the outputs (loss_scale = 1 / n_out) but differentiated summed over them, and
// this keeps both. One forward and one backward pass over the n rows; the parameters go in and
// the gradient is taken as one training call (Network::gradients_at). T comes from `net` alone,
// so X converts from a pointer or SparseRows as in Network's own calls.
template <typename T>
double loss_and_gradient(Network<T>& net, const double* flat, typename Inputs<T>::Self X,
                         std::ptrdiff_t n,
                         const Targets<T>& targets, double l2, double loss_scale, double* grad);

}  // namespace fastbp
