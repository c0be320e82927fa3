// How a training step turns the gradient of the mean batch loss into new parameters, and how the
// learning rate moves from epoch to epoch.
#pragma once

#include <string>
#include <vector>

namespace fastbp {

enum class OptimizerKind { sgd, adam, adamw, rprop, lion };

// g is the gradient of the mean loss over the batch. Weight decay touches weights, not biases.
//   sgd:   g' = g + weight_decay W;  V = momentum V - lr g';  W += V, or with nesterov
//          W += momentum V - lr g'  (scikit-learn's form; PyTorch's for a constant lr)
//   adam:  g' = g + weight_decay W;  m, v moving averages of g' and g'^2 (beta1, beta2);
//          W -= lr m_hat / (sqrt(v_hat) + epsilon), with the bias corrections of step t
//   adamw: as adam on g, after the decoupled decay W -= lr weight_decay W
//   rprop: iRPROP- (Igel & Huesken 2000), the default of FANN: a step size per parameter grows
//          by eta_plus while the gradient keeps its sign and shrinks by eta_minus when it flips
//          (that step then skips the parameter); W -= sign(g) step. Meant for full batches;
//          learning_rate is not used.
//   lion:  c = beta1 m + (1 - beta1) g;  W -= lr (sign(c) + weight_decay W);
//          m = beta2 m + (1 - beta2) g  (Chen et al. 2023; beta2 0.99 by its factory)
// Each is one descriptor in cpp/src/descriptors/optimizers.inc.
struct Optimizer {
  OptimizerKind kind = OptimizerKind::sgd;
  double learning_rate = 0.01;
  double momentum = 0.0;
  bool nesterov = false;
  double weight_decay = 0.0;
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
  // Adam: add epsilon to sqrt(v) before the bias correction (scikit-learn, and Kingma & Ba's
  // "efficient" form) instead of to sqrt(v_hat) after it (PyTorch, the default).
  bool epsilon_uncorrected = false;
  double eta_minus = 0.5, eta_plus = 1.2;
  double step_init = 0.1, step_min = 1e-6, step_max = 50.0;

  static Optimizer sgd(double learning_rate, double momentum = 0.0, bool nesterov = false,
                       double weight_decay = 0.0);
  static Optimizer adam(double learning_rate = 0.001, double beta1 = 0.9, double beta2 = 0.999,
                        double epsilon = 1e-8, double weight_decay = 0.0);
  static Optimizer adamw(double learning_rate = 0.001, double beta1 = 0.9, double beta2 = 0.999,
                         double epsilon = 1e-8, double weight_decay = 0.01);
  static Optimizer rprop(double step_init = 0.1, double eta_minus = 0.5, double eta_plus = 1.2,
                         double step_min = 1e-6, double step_max = 50.0);
  static Optimizer lion(double learning_rate = 1e-4, double beta1 = 0.9, double beta2 = 0.99,
                        double weight_decay = 0.0);
};

// What an optimizer keeps between steps, from its descriptor.
struct OptimizerInfo {
  OptimizerKind kind;
  const char* name;
  std::vector<std::string> state_names;  // its state arrays, laid out like the parameters
};
const std::vector<OptimizerInfo>& optimizer_table();

enum class ScheduleKind { constant, invscaling, step, exponential, plateau };

// The learning rate of each epoch of fit, from the optimizer's learning_rate lr0:
//   constant:    lr0
//   invscaling:  lr0 / (t + 1)^power_t, t = samples trained before the epoch (scikit-learn's)
//   step:        lr0 gamma^floor((epoch - 1) / step_size)
//   exponential: lr0 gamma^(epoch - 1)
//   plateau:     multiplied by factor (not below min_lr) once the monitored loss (validation loss
//                if there is a validation set, else training loss) has not improved by more than
//                tol for more than `patience` epochs; scikit-learn's "adaptive" is factor 0.2
struct LearningRateSchedule {
  ScheduleKind kind = ScheduleKind::constant;
  double power_t = 0.5;
  int step_size = 10;
  double gamma = 0.1;
  int patience = 10;
  double factor = 0.2;
  double tol = 1e-4;
  double min_lr = 1e-6;
};

// Throw std::invalid_argument naming the field when a setting is out of range.
void validate(const Optimizer& optimizer);
void validate(const LearningRateSchedule& schedule);

OptimizerKind parse_optimizer(const std::string& name);
const char* to_string(OptimizerKind kind);
ScheduleKind parse_schedule(const std::string& name);
const char* to_string(ScheduleKind kind);

}  // namespace fastbp
