// Network32 / Network64: fastbp::Network<float/double> for the Python package (fastbp.MLP).
// Every long call releases the GIL.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "fastbp/fastbp.hpp"

namespace fastbp_bindings {
namespace {

py::dict epoch_dict(const fastbp::EpochLog& log) {
  py::dict d;
  d["epoch"] = log.epoch;
  d["loss"] = log.loss;
  d["learning_rate"] = log.learning_rate;
  d["best"] = log.best;
  d["val_loss"] = log.val_loss;
  d["val_accuracy"] = log.val_accuracy;
  d["val_score"] = log.val_score;
  d["seconds"] = log.seconds;
  return d;
}

// The optimizer a call names: a _core.Optimizer, or a dict of settings when _core is called
// directly.
fastbp::Optimizer optimizer_of(const py::object& settings) {
  return py::isinstance<fastbp::Optimizer>(settings)
             ? settings.cast<const fastbp::Optimizer&>()
             : py::module_::import("fastbp._core").attr("Optimizer")(settings)
                   .cast<fastbp::Optimizer>();
}

// fastbp.distributed's settings (a dict) as the core's DataParallel; `sum` is called with the
// GIL on a writable view of the core's buffer, so the collective needs no copy.
template <typename T>
fastbp::DataParallel<T> data_parallel_of(const py::dict& settings) {
  fastbp::DataParallel<T> p;
  p.rank = settings["rank"].cast<int>();
  p.size = settings["size"].cast<int>();
  const auto sharding = settings["shard"].cast<std::string>();
  if (sharding != "global" && sharding != "local")
    throw py::value_error("shard: expected 'global' or 'local', got '" + sharding + "'");
  p.sharding = sharding == "global" ? fastbp::Sharding::global : fastbp::Sharding::local;
  p.steps_per_epoch = settings["steps_per_epoch"].cast<std::ptrdiff_t>();
  p.average_every = settings["average_every"].cast<int>();
  py::object sum = settings["sum"];
  if (!PyCallable_Check(sum.ptr()))
    throw py::type_error("data_parallel: sum: expected a callable, got " +
                         std::string(py::str(py::type::of(sum).attr("__name__"))));
  p.sum = [sum](T* values, std::size_t count) {
    py::gil_scoped_acquire acquire;
    const py::capsule borrowed(values, [](void*) {});
    sum(py::array_t<T>({py::ssize_t(count)}, {py::ssize_t(sizeof(T))}, values, borrowed));
  };
  return p;
}

// X when the core can read it as it is (ready_array): any number of rows of the network's width.
// (Model: a Network or a Predictor.)
template <template <typename> class Model, typename T>
std::optional<py::array> ready_samples(const Model<T>& net, const py::handle& X) {
  return ready_array<T>(X, {-1, py::ssize_t(net.layers().front())});
}

// ([W[l] as (n_in, n_out)], [b[l]]): views of `flat`, laid out like the parameters, for the
// package's per-layer arrays (parameters and gradients). Built here because the same slicing and
// reshaping in Python cost a one-sample gradient twice its work.
template <typename T>
py::tuple layer_views(const fastbp::Network<T>& net, py::array_t<T>& flat) {
  const std::vector<std::ptrdiff_t>& sizes = net.layers();
  const std::size_t L = net.n_weight_layers();
  py::list W(L), b(L);
  T* data = flat.mutable_data();
  const auto item = py::ssize_t(sizeof(T));
  for (std::size_t l = 0; l < L; ++l) {
    const py::ssize_t n_in = sizes[l], n_out = sizes[l + 1];
    W[l] = py::array_t<T>({n_in, n_out}, {n_out * item, item}, data + net.weight_offset(l), flat);
    b[l] = py::array_t<T>({n_out}, {item}, data + net.bias_offset(l), flat);
  }
  return py::make_tuple(std::move(W), std::move(b));
}

// X and T of a ready_* call that takes targets, when both are ready.
template <typename T>
struct ReadyBatch {
  py::array X;
  ReadyTargets<T> t;  // moved in: its labels vector keeps its buffer, which t.targets points to
  const T* x() const { return static_cast<const T*>(X.data()); }
  py::ssize_t n() const { return X.shape(0); }
};

template <typename T>
std::optional<ReadyBatch<T>> ready_batch(const fastbp::Network<T>& net, const py::handle& X_in,
                                         const py::handle& target) {
  std::optional<py::array> X = ready_samples(net, X_in);
  if (!X) return std::nullopt;
  ReadyTargets<T> t = ready_targets(net, X->shape(0), target);
  if (!t.ok) return std::nullopt;
  return ReadyBatch<T>{std::move(*X), std::move(t)};
}

// predict's outputs for n samples, into `out` when given (no allocation per call); `inputs` are
// the arrays holding X's data, which out must not overlap: the last layer writes into out while
// earlier rows of X may still be read.
template <template <typename> class Model, typename T>
py::array predict_into(const Model<T>& net, const fastbp::Inputs<T>& X, py::ssize_t n,
                       std::initializer_list<py::array> inputs, const py::object& out) {
  const py::ssize_t n_out = py::ssize_t(net.layers().back());
  if (!out.is_none() && !py::isinstance<py::array>(out))
    throw py::type_error("out: expected a NumPy array, got " +
                         std::string(py::str(py::type::of(out).attr("__name__"))));
  py::array result = out.is_none() ? py::array(CArray<T>({n, n_out}))
                                   : py::reinterpret_borrow<py::array>(out);
  T* dst = writable_data<T>(result, "out");
  if (!out.is_none()) {
    require_shape(result, "out", {n, n_out});
    const auto* lo = reinterpret_cast<const char*>(dst);
    const auto* hi = lo + result.nbytes();
    for (const py::array& in : inputs) {
      if (!in || in.nbytes() == 0) continue;
      const auto* in_lo = static_cast<const char*>(in.data());
      if (in_lo < hi && lo < in_lo + in.nbytes())
        throw py::value_error("out: shares memory with X; give an array of its own");
    }
  }
  {
    py::gil_scoped_release release;
    net.predict(X, n, dst);
  }
  return result;
}

// predict and ready_predict, the same for a Network and a Predictor.
template <template <typename> class Model, typename T>
py::array predict_call(const Model<T>& model, const py::object& X_in, const py::object& out) {
  const BoundInputs<T> X = bind_inputs<T>(X_in, "X", model.layers().front());
  return predict_into(model, X.inputs, X.n, {py::array(X.dense), py::array(X.values)}, out);
}
template <template <typename> class Model, typename T>
py::object ready_predict_call(const Model<T>& model, const py::object& X_in,
                              const py::object& out) {
  const std::optional<py::array> X = ready_samples(model, X_in);
  if (!X) return py::none();
  return predict_into(model, fastbp::Inputs<T>(static_cast<const T*>(X->data())), X->shape(0), {*X},
                      out);
}

template <typename T>
void bind_network(py::module_& m, const char* class_name) {
  using Net = fastbp::Network<T>;
  const auto targets_of = [](const Net& net, py::ssize_t n, const py::object& values,
                             const py::object& labels, const char* name,
                             const py::object& weights) {
    return bind_targets<T>(net.layers().back(), n, values, labels, name, weights);
  };
  py::class_<Net>(m, class_name)
      .def(py::init([](std::vector<std::ptrdiff_t> layers, const std::string& hidden,
                       const std::string& output, const std::string& loss, std::uint64_t seed,
                       double huber_delta, const std::string& precision) {
             if (precision != "native" && precision != "bfloat16")
               throw std::invalid_argument("precision: expected 'native' or 'bfloat16', got '" +
                                           precision + "'");
             return Net(std::move(layers), fastbp::parse_activation(hidden),
                        fastbp::parse_activation(output),
                        fastbp::LossFunction(fastbp::parse_loss(loss), huber_delta), seed,
                        precision == "bfloat16" ? fastbp::MatmulPrecision::bfloat16
                                                : fastbp::MatmulPrecision::native);
           }),
           py::arg("layers"), py::arg("hidden"), py::arg("output"), py::arg("loss"),
           py::arg("seed"), py::arg("huber_delta") = 1.0, py::arg("precision") = "native")
      .def_property_readonly("matmul_precision",
                             [](const Net& n) {
                               return n.matmul_precision() == fastbp::MatmulPrecision::bfloat16
                                          ? "bfloat16"
                                          : "native";
                             })
      .def_property_readonly("layers", &Net::layers)
      .def_property_readonly("hidden", [](const Net& n) { return fastbp::to_string(n.hidden()); })
      .def_property_readonly("output", [](const Net& n) { return fastbp::to_string(n.output()); })
      .def_property_readonly("loss_name",
                             [](const Net& n) { return fastbp::to_string(n.loss_kind()); })
      .def_property_readonly("huber_delta", [](const Net& n) { return n.loss_function().delta; })
      .def_property_readonly("n_parameters", &Net::n_parameters)
      .def(
          "parameters",
          [](py::object self) {
            Net& n = self.cast<Net&>();
            return py::array_t<T>({py::ssize_t(n.n_parameters())}, {py::ssize_t(sizeof(T))},
                                  n.parameters(), self);
          },
          "All parameters as one live view: W[0], b[0], W[1], b[1], ...")
      .def(
          "layer_views",
          [](const Net& net, const py::handle& flat) {
            // No conversion: a copy would no longer be the caller's buffer.
            if (!py::isinstance<py::array_t<T>>(flat))
              throw py::type_error("flat: expected an ndarray of the network's dtype");
            auto array = py::reinterpret_borrow<py::array_t<T>>(flat);
            if (array.ndim() != 1 || array.shape(0) != py::ssize_t(net.n_parameters()) ||
                !(array.flags() & py::array::c_style) || !array.writeable())
              throw std::invalid_argument("flat: expected a writable contiguous array of " +
                                          std::to_string(net.n_parameters()) +
                                          " values, laid out like parameters()");
            return layer_views(net, array);
          },
          "([W[l]], [b[l]]): views of `flat`, an array laid out like parameters().")
      .def("weight_offset", &Net::weight_offset)
      .def("bias_offset", &Net::bias_offset)
      .def("predict", &predict_call<fastbp::Network, T>, py::arg("X"), py::arg("out") = py::none())
      // The ready_* calls do the work of the call of the same name when every array already is
      // what the core reads in place (ready_array), and return None otherwise, so that the
      // package checks and converts with its own messages: a call on one sample costs about a
      // microsecond instead of several.
      .def("ready_predict", &ready_predict_call<fastbp::Network, T>, py::arg("X"),
           py::arg("out") = py::none())
      .def(
          "ready_loss",
          [](const Net& net, const py::object& X_in, const py::object& target) -> py::object {
            const std::optional<ReadyBatch<T>> batch = ready_batch(net, X_in, target);
            if (!batch) return py::none();
            double loss;
            {
              py::gil_scoped_release release;
              loss = net.loss(batch->x(), batch->n(), batch->t.targets);
            }
            return py::float_(loss);
          },
          py::arg("X"), py::arg("T"))
      .def(
          "ready_gradients",
          [](Net& net, const py::object& X_in, const py::object& target) -> py::object {
            const std::optional<ReadyBatch<T>> batch = ready_batch(net, X_in, target);
            if (!batch) return py::none();
            CArray<T> grad({py::ssize_t(net.n_parameters())});
            T* dst = grad.mutable_data();
            {
              py::gil_scoped_release release;
              net.gradients(batch->x(), batch->n(), batch->t.targets, dst);
            }
            py::array_t<T> flat = std::move(grad);
            return layer_views(net, flat);
          },
          py::arg("X"), py::arg("T"))
      .def(
          "ready_train_step",
          [](Net& net, const py::object& X_in, const py::object& target,
             const py::object& settings) -> py::object {
            if (!py::isinstance<fastbp::Optimizer>(settings)) return py::none();
            const std::optional<ReadyBatch<T>> batch = ready_batch(net, X_in, target);
            if (!batch) return py::none();
            const auto& optimizer = settings.cast<const fastbp::Optimizer&>();
            double loss;
            {
              py::gil_scoped_release release;
              loss = net.train_step(batch->x(), batch->n(), batch->t.targets, optimizer);
            }
            return py::float_(loss);
          },
          py::arg("X"), py::arg("T"), py::arg("optimizer"))
      .def(
          "loss",
          [targets_of](const Net& net, const py::object& X_in, const py::object& values,
                       const py::object& labels, const py::object& sample_weight) {
            const BoundInputs<T> X = bind_inputs<T>(X_in, "X", net.layers().front());
            const py::ssize_t n = X.n;
            BoundTargets<T> t = targets_of(net, n, values, labels, "T", sample_weight);
            py::gil_scoped_release release;
            return net.loss(X.inputs, n, t.targets);
          },
          py::arg("X"), py::arg("values"), py::arg("labels"), py::arg("sample_weight") = py::none())
      .def(
          "gradients",
          [targets_of](Net& net, const py::object& X_in, const py::object& values,
                       const py::object& labels, const py::object& sample_weight) {
            const BoundInputs<T> X = bind_inputs<T>(X_in, "X", net.layers().front());
            const py::ssize_t n = X.n;
            BoundTargets<T> t = targets_of(net, n, values, labels, "T", sample_weight);
            CArray<T> grad({py::ssize_t(net.n_parameters())});
            T* dst = grad.mutable_data();
            double loss;
            {
              py::gil_scoped_release release;
              loss = net.gradients(X.inputs, n, t.targets, dst);
            }
            return py::make_tuple(grad, loss);
          },
          py::arg("X"), py::arg("values"), py::arg("labels"), py::arg("sample_weight") = py::none(),
          "Returns (flat gradient laid out like parameters(), loss).")
      .def(
          "flat_parameters",
          [](const Net& net) {
            CArray<double> flat({py::ssize_t(fastbp::flat_size(net))});
            fastbp::get_flat_parameters(net, flat.mutable_data());
            return flat;
          },
          "A float64 copy of the parameters packed as scikit-learn packs them: every W[l], "
          "then every b[l].")
      .def(
          "set_flat_parameters",
          [](Net& net, const CArray<double>& flat) {
            require_shape(flat, "parameters", {py::ssize_t(fastbp::flat_size(net))});
            fastbp::set_flat_parameters(net, flat.data());
          },
          py::arg("parameters"))
      .def(
          "loss_and_gradient",
          [targets_of](Net& net, const CArray<double>& flat, const py::object& X_in,
                       const py::object& values, const py::object& labels, double l2,
                       double loss_scale, const py::object& sample_weight) {
            require_shape(flat, "parameters", {py::ssize_t(fastbp::flat_size(net))});
            const BoundInputs<T> X = bind_inputs<T>(X_in, "X", net.layers().front());
            const py::ssize_t n = X.n;
            BoundTargets<T> t = targets_of(net, n, values, labels, "T", sample_weight);
            CArray<double> grad({flat.shape(0)});
            double* dst = grad.mutable_data();
            double loss;
            {
              py::gil_scoped_release release;
              loss = fastbp::loss_and_gradient(net, flat.data(), X.inputs, n, t.targets, l2,
                                               loss_scale, dst);
            }
            return py::make_tuple(loss, grad);
          },
          py::arg("parameters"), py::arg("X"), py::arg("values"), py::arg("labels"),
          py::arg("l2") = 0.0, py::arg("loss_scale") = 1.0, py::arg("sample_weight") = py::none(),
          "(objective, gradient) at the flat parameters (which the network takes): see "
          "fastbp/objective.hpp.")
      .def(
          "train_step",
          [targets_of](Net& net, const py::object& X_in, const py::object& values,
                       const py::object& labels, const py::object& settings,
                       const py::object& sample_weight) {
            const BoundInputs<T> X = bind_inputs<T>(X_in, "X", net.layers().front());
            const py::ssize_t n = X.n;
            BoundTargets<T> t = targets_of(net, n, values, labels, "T", sample_weight);
            const fastbp::Optimizer optimizer = optimizer_of(settings);
            py::gil_scoped_release release;
            return net.train_step(X.inputs, n, t.targets, optimizer);
          },
          py::arg("X"), py::arg("values"), py::arg("labels"), py::arg("optimizer"),
          py::arg("sample_weight") = py::none())
      .def(
          "apply_gradient",
          [](Net& net, const py::object& gradient_in, const py::object& settings) {
            const CArray<T> gradient = gradient_in.cast<CArray<T>>();
            if (gradient.ndim() != 1 || std::size_t(gradient.size()) != net.n_parameters())
              throw py::value_error("gradient: expected " + std::to_string(net.n_parameters()) +
                                    " values laid out like parameters(), got shape " +
                                    shape_of(gradient));
            const fastbp::Optimizer optimizer = optimizer_of(settings);
            py::gil_scoped_release release;
            net.apply_gradient(gradient.data(), optimizer);
          },
          py::arg("gradient"), py::arg("optimizer"))
      .def("reset_optimizer", &Net::reset_optimizer, py::call_guard<py::gil_scoped_release>())
      .def(
          "fit",
          [targets_of](Net& net, const py::object& X_in, const py::object& values,
                       const py::object& labels, const fastbp::FitOptions& options,
                       const py::object& X_val, const py::object& val_values,
                       const py::object& val_labels, const py::object& on_epoch,
                       fastbp::TrainingProgress* progress, const py::object& sample_weight,
                       const py::object& val_sample_weight, const py::object& data_parallel) {
            const BoundInputs<T> X = bind_inputs<T>(X_in, "X", net.layers().front());
            const py::ssize_t n = X.n;
            BoundTargets<T> t = targets_of(net, n, values, labels, "T", sample_weight);
            fastbp::ValidationSet<T> validation;
            BoundInputs<T> xv;
            BoundTargets<T> tv;
            const bool has_validation = !X_val.is_none();
            if (has_validation) {
              xv = bind_inputs<T>(X_val, "validation X", net.layers().front());
              validation.n = xv.n;
              validation.X = xv.inputs;
              tv = targets_of(net, validation.n, val_values, val_labels, "validation T",
                              val_sample_weight);
              validation.targets = tv.targets;
            }
            // Called once per epoch, with the GIL: lets Ctrl-C and Python callbacks stop training.
            fastbp::EpochCallback callback = [&](const fastbp::EpochLog& log) {
              py::gil_scoped_acquire acquire;
              if (PyErr_CheckSignals() != 0) throw py::error_already_set();
              if (on_epoch.is_none()) return true;
              py::object keep_going = on_epoch(epoch_dict(log));
              return keep_going.is_none() || keep_going.cast<bool>();
            };
            // Between batches: Ctrl-C (KeyboardInterrupt) stops training after a whole batch.
            const fastbp::BatchCheck check_signals = [] {
              py::gil_scoped_acquire acquire;
              if (PyErr_CheckSignals() != 0) throw py::error_already_set();
            };
            fastbp::DataParallel<T> replicas;
            if (!data_parallel.is_none())
              replicas = data_parallel_of<T>(data_parallel.cast<py::dict>());
            std::vector<fastbp::EpochLog> logs;
            {
              py::gil_scoped_release release;
              logs = net.fit(X.inputs, n, t.targets, options,
                             has_validation ? &validation : nullptr, callback, check_signals,
                             progress, data_parallel.is_none() ? nullptr : &replicas);
            }
            py::list out;
            for (const auto& log : logs) out.append(epoch_dict(log));
            return out;
          },
          py::arg("X"), py::arg("values"), py::arg("labels"), py::arg("options"),
          py::arg("X_val") = py::none(), py::arg("val_values") = py::none(),
          py::arg("val_labels") = py::none(), py::arg("on_epoch") = py::none(),
          py::arg("progress") = nullptr, py::arg("sample_weight") = py::none(),
          py::arg("val_sample_weight") = py::none(), py::arg("data_parallel") = py::none());
}

// The package's Predictor over this: its predict and ready_predict are the network's.
template <typename T>
void bind_predictor(py::module_& m, const char* class_name) {
  using Net = fastbp::Network<T>;
  using Predictor = fastbp::Predictor<T>;
  py::class_<Predictor>(m, class_name)
      .def(py::init([](const Net& net) {
             py::gil_scoped_release release;  // (packing a large model takes milliseconds)
             return std::make_unique<Predictor>(net);
           }),
           py::arg("network"))
      .def_property_readonly("layers", &Predictor::layers)
      .def(
          "parameters",
          [](const Predictor& p) {
            const Net& n = p.network();
            CArray<T> copy({py::ssize_t(n.n_parameters())});
            std::copy(n.parameters(), n.parameters() + n.n_parameters(), copy.mutable_data());
            return copy;
          },
          "A copy of the snapshot's parameters, laid out like Network.parameters().")
      .def("predict", &predict_call<fastbp::Predictor, T>, py::arg("X"),
           py::arg("out") = py::none())
      .def("ready_predict", &ready_predict_call<fastbp::Predictor, T>, py::arg("X"),
           py::arg("out") = py::none());
}

}  // namespace

void bind_networks(py::module_& m) {
  bind_network<float>(m, "Network32");
  bind_network<double>(m, "Network64");
  bind_predictor<float>(m, "Predictor32");
  bind_predictor<double>(m, "Predictor64");
}

}  // namespace fastbp_bindings
