// fastbp._core: a thin pybind11 layer over the C++ core. Argument checking that needs NumPy
// semantics lives in python/fastbp/_validation.py; here every shape is still re-checked so that
// calling _core directly can raise but never crash. Long calls release the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "elementwise.hpp"
#include "fastbp/fastbp.hpp"

namespace py = pybind11;

namespace {

template <typename T>
using CArray = py::array_t<T, py::array::c_style | py::array::forcecast>;
using Labels = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;

std::string shape_of(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

void require_shape(const py::array& a, const char* name, std::vector<py::ssize_t> shape) {
  bool ok = a.ndim() == py::ssize_t(shape.size());
  for (std::size_t i = 0; ok && i < shape.size(); ++i) ok = a.shape(py::ssize_t(i)) == shape[i];
  if (!ok) {
    std::string want = "(";
    for (std::size_t i = 0; i < shape.size(); ++i)
      want += (i ? ", " : "") + std::to_string(shape[i]);
    want += shape.size() == 1 ? ",)" : ")";
    throw py::value_error(std::string(name) + ": expected shape " + want + ", got " + shape_of(a));
  }
}

py::ssize_t rows_of(const py::array& X, const char* name, py::ssize_t cols) {
  if (X.ndim() != 2 || X.shape(1) != cols)
    throw py::value_error(std::string(name) + ": expected a 2-D array with " +
                          std::to_string(cols) + " columns, got shape " + shape_of(X));
  if (X.shape(0) < 1) throw py::value_error(std::string(name) + ": expected at least one sample");
  return X.shape(0);
}

// An array the C++ side may write into: exactly dtype T, C-contiguous, writeable.
template <typename T>
T* writable_data(py::array& a, const char* name) {
  if (!py::isinstance<py::array_t<T>>(a) || !(a.flags() & py::array::c_style) || !a.writeable())
    throw py::type_error(std::string(name) + ": expected a writeable C-contiguous " +
                         (sizeof(T) == 4 ? "float32" : "float64") + " array");
  return static_cast<T*>(a.mutable_data());
}

template <typename T>
struct BoundTargets {
  fastbp::Targets<T> targets;
  CArray<T> values;
  Labels labels;
};

template <typename T>
BoundTargets<T> bind_targets(const fastbp::Network<T>& net, py::ssize_t n, py::object values,
                             py::object labels, const char* name) {
  BoundTargets<T> b;
  if (!values.is_none() == !labels.is_none())
    throw py::value_error(std::string(name) + ": give exactly one of a target matrix or labels");
  if (!values.is_none()) {
    b.values = values.cast<CArray<T>>();
    require_shape(b.values, name, {n, py::ssize_t(net.layers().back())});
    b.targets.values = b.values.data();
  } else {
    b.labels = labels.cast<Labels>();
    require_shape(b.labels, name, {n});
    b.targets.labels = b.labels.data();
  }
  return b;
}

// Optimizer and schedule settings arrive as dicts from fastbp.optimizers / fastbp.schedules;
// every key must be known. Range checks are fastbp::validate's.
template <typename Settings>
struct Field {
  const char* name;
  double Settings::* real;
  int Settings::* integer;
  bool Settings::* flag;
};

template <typename Settings, std::size_t N>
void set_field(Settings& s, const std::string& key, const py::handle& value,
               const Field<Settings> (&fields)[N], const char* what) {
  for (const Field<Settings>& f : fields) {
    if (key != f.name) continue;
    if (f.real) s.*f.real = value.cast<double>();
    if (f.integer) s.*f.integer = value.cast<int>();
    if (f.flag) s.*f.flag = value.cast<bool>();
    return;
  }
  throw py::value_error(std::string(what) + ": unknown setting '" + key + "'");
}

fastbp::Optimizer optimizer_from(const py::dict& d) {
  using O = fastbp::Optimizer;
  static const Field<O> fields[] = {
      {"lr", &O::learning_rate, nullptr, nullptr},
      {"momentum", &O::momentum, nullptr, nullptr},
      {"nesterov", nullptr, nullptr, &O::nesterov},
      {"weight_decay", &O::weight_decay, nullptr, nullptr},
      {"beta1", &O::beta1, nullptr, nullptr},
      {"beta2", &O::beta2, nullptr, nullptr},
      {"epsilon", &O::epsilon, nullptr, nullptr},
      {"epsilon_uncorrected", nullptr, nullptr, &O::epsilon_uncorrected},
      {"eta_minus", &O::eta_minus, nullptr, nullptr},
      {"eta_plus", &O::eta_plus, nullptr, nullptr},
      {"step_init", &O::step_init, nullptr, nullptr},
      {"step_min", &O::step_min, nullptr, nullptr},
      {"step_max", &O::step_max, nullptr, nullptr}};
  O o;
  for (const auto& [key, value] : d) {
    const std::string k = key.cast<std::string>();
    if (k == "kind")
      o.kind = fastbp::parse_optimizer(value.cast<std::string>());
    else
      set_field(o, k, value, fields, "optimizer");
  }
  fastbp::validate(o);
  return o;
}

fastbp::LearningRateSchedule schedule_from(const py::dict& d) {
  using S = fastbp::LearningRateSchedule;
  static const Field<S> fields[] = {
      {"power_t", &S::power_t, nullptr, nullptr}, {"step_size", nullptr, &S::step_size, nullptr},
      {"gamma", &S::gamma, nullptr, nullptr},     {"patience", nullptr, &S::patience, nullptr},
      {"factor", &S::factor, nullptr, nullptr},   {"tol", &S::tol, nullptr, nullptr},
      {"min_lr", &S::min_lr, nullptr, nullptr}};
  S s;
  for (const auto& [key, value] : d) {
    const std::string k = key.cast<std::string>();
    if (k == "kind")
      s.kind = fastbp::parse_schedule(value.cast<std::string>());
    else
      set_field(s, k, value, fields, "lr_schedule");
  }
  fastbp::validate(s);
  return s;
}

py::dict epoch_dict(const fastbp::EpochLog& log) {
  py::dict d;
  d["epoch"] = log.epoch;
  d["loss"] = log.loss;
  d["learning_rate"] = log.learning_rate;
  d["best"] = log.best;
  d["val_loss"] = log.val_loss;
  d["val_accuracy"] = log.val_accuracy;
  d["seconds"] = log.seconds;
  return d;
}

template <typename T>
void bind_network(py::module_& m, const char* class_name) {
  using Net = fastbp::Network<T>;
  py::class_<Net>(m, class_name)
      .def(py::init([](std::vector<std::ptrdiff_t> layers, const std::string& hidden,
                       const std::string& output, const std::string& loss, std::uint64_t seed) {
             return Net(std::move(layers), fastbp::parse_activation(hidden),
                        fastbp::parse_activation(output), fastbp::parse_loss(loss), seed);
           }),
           py::arg("layers"), py::arg("hidden"), py::arg("output"), py::arg("loss"),
           py::arg("seed"))
      .def_property_readonly("layers", &Net::layers)
      .def_property_readonly("hidden", [](const Net& n) { return fastbp::to_string(n.hidden()); })
      .def_property_readonly("output", [](const Net& n) { return fastbp::to_string(n.output()); })
      .def_property_readonly("loss_name",
                             [](const Net& n) { return fastbp::to_string(n.loss_kind()); })
      .def_property_readonly("n_parameters", &Net::n_parameters)
      .def(
          "parameters",
          [](py::object self) {
            Net& n = self.cast<Net&>();
            return py::array_t<T>({py::ssize_t(n.n_parameters())}, {py::ssize_t(sizeof(T))},
                                  n.parameters(), self);
          },
          "All parameters as one live view: W[0], b[0], W[1], b[1], ...")
      .def("weight_offset", &Net::weight_offset)
      .def("bias_offset", &Net::bias_offset)
      .def(
          "predict",
          [](const Net& net, const CArray<T>& X) {
            const py::ssize_t n = rows_of(X, "X", net.layers().front());
            CArray<T> out({n, py::ssize_t(net.layers().back())});
            T* dst = out.mutable_data();
            py::gil_scoped_release release;
            net.predict(X.data(), n, dst);
            return out;
          },
          py::arg("X"))
      .def(
          "loss",
          [](const Net& net, const CArray<T>& X, py::object values, py::object labels) {
            const py::ssize_t n = rows_of(X, "X", net.layers().front());
            BoundTargets<T> t = bind_targets(net, n, values, labels, "T");
            py::gil_scoped_release release;
            return net.loss(X.data(), n, t.targets);
          },
          py::arg("X"), py::arg("values"), py::arg("labels"))
      .def(
          "gradients",
          [](Net& net, const CArray<T>& X, py::object values, py::object labels) {
            const py::ssize_t n = rows_of(X, "X", net.layers().front());
            BoundTargets<T> t = bind_targets(net, n, values, labels, "T");
            CArray<T> grad({py::ssize_t(net.n_parameters())});
            T* dst = grad.mutable_data();
            double loss;
            {
              py::gil_scoped_release release;
              loss = net.gradients(X.data(), n, t.targets, dst);
            }
            return py::make_tuple(grad, loss);
          },
          py::arg("X"), py::arg("values"), py::arg("labels"),
          "Returns (flat gradient laid out like parameters(), loss).")
      .def(
          "train_step",
          [](Net& net, const CArray<T>& X, py::object values, py::object labels,
             const py::dict& optimizer) {
            const py::ssize_t n = rows_of(X, "X", net.layers().front());
            BoundTargets<T> t = bind_targets(net, n, values, labels, "T");
            const fastbp::Optimizer o = optimizer_from(optimizer);
            py::gil_scoped_release release;
            return net.train_step(X.data(), n, t.targets, o);
          },
          py::arg("X"), py::arg("values"), py::arg("labels"), py::arg("optimizer"))
      .def("reset_optimizer", &Net::reset_optimizer, py::call_guard<py::gil_scoped_release>())
      .def(
          "fit",
          [](Net& net, const CArray<T>& X, py::object values, py::object labels, int epochs,
             std::ptrdiff_t batch_size, const py::dict& optimizer, const py::dict& schedule,
             bool shuffle, std::uint64_t seed, int patience, double tol, bool restore_best,
             py::object X_val, py::object val_values, py::object val_labels, py::object on_epoch) {
            const py::ssize_t n = rows_of(X, "X", net.layers().front());
            BoundTargets<T> t = bind_targets(net, n, values, labels, "T");
            fastbp::FitOptions options;
            options.epochs = epochs;
            options.batch_size = batch_size;
            options.optimizer = optimizer_from(optimizer);
            options.schedule = schedule_from(schedule);
            options.shuffle = shuffle;
            options.seed = seed;
            options.patience = patience;
            options.tol = tol;
            options.restore_best = restore_best;
            fastbp::ValidationSet<T> validation;
            CArray<T> xv;
            BoundTargets<T> tv;
            const bool has_validation = !X_val.is_none();
            if (has_validation) {
              xv = X_val.cast<CArray<T>>();
              validation.n = rows_of(xv, "validation X", net.layers().front());
              validation.X = xv.data();
              tv = bind_targets(net, validation.n, val_values, val_labels, "validation T");
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
            std::vector<fastbp::EpochLog> logs;
            {
              py::gil_scoped_release release;
              logs = net.fit(X.data(), n, t.targets, options,
                             has_validation ? &validation : nullptr, callback, check_signals);
            }
            py::list out;
            for (const auto& log : logs) out.append(epoch_dict(log));
            return out;
          },
          py::arg("X"), py::arg("values"), py::arg("labels"), py::arg("epochs"),
          py::arg("batch_size"), py::arg("optimizer"), py::arg("schedule"), py::arg("shuffle"),
          py::arg("seed"), py::arg("patience"), py::arg("tol"), py::arg("restore_best"),
          py::arg("X_val"), py::arg("val_values"), py::arg("val_labels"), py::arg("on_epoch"));
}

struct LayerDims {
  py::ssize_t n, n_in, n_out;
};

// x must be (n, n_in) for W of shape (n_in, n_out), and each array in per_sample (n, n_out).
LayerDims layer_dims(const py::array& x, const py::array& W,
                     std::initializer_list<std::pair<const char*, const py::array*>> per_sample) {
  if (W.ndim() != 2) throw py::value_error("W: expected a 2-D array, got shape " + shape_of(W));
  if (x.ndim() != 2) throw py::value_error("x: expected a 2-D array, got shape " + shape_of(x));
  const LayerDims d{x.shape(0), W.shape(0), W.shape(1)};
  require_shape(x, "x", {d.n, d.n_in});
  for (const auto& [name, array] : per_sample) require_shape(*array, name, {d.n, d.n_out});
  return d;
}

template <typename T>
void bind_dense(py::module_& m) {
  m.def(
      "dense_forward",
      [](const CArray<T>& x, const CArray<T>& W, const CArray<T>& b, const std::string& act) {
        const auto [n, n_in, n_out] = layer_dims(x, W, {});
        require_shape(b, "b", {n_out});
        const fastbp::Activation a = fastbp::parse_activation(act);
        CArray<T> out({n, n_out});
        T* dst = out.mutable_data();
        py::gil_scoped_release release;
        fastbp::dense_forward<T>(n, n_in, n_out, x.data(), W.data(), b.data(), a, dst);
        return out;
      },
      py::arg("x"), py::arg("W"), py::arg("b"), py::arg("activation"));
  m.def(
      "dense_backward",
      [](const CArray<T>& grad_a, const CArray<T>& x, const CArray<T>& W, const CArray<T>& a,
         const std::string& act) {
        const auto [n, n_in, n_out] = layer_dims(x, W, {{"a", &a}, {"grad_a", &grad_a}});
        const fastbp::Activation activation = fastbp::parse_activation(act);
        CArray<T> gx({n, n_in}), gW({n_in, n_out}), gb({n_out});
        T *pgx = gx.mutable_data(), *pgW = gW.mutable_data(), *pgb = gb.mutable_data();
        {
          py::gil_scoped_release release;
          fastbp::dense_backward<T>(n, n_in, n_out, grad_a.data(), x.data(), W.data(), a.data(),
                                    activation, pgx, pgW, pgb);
        }
        return py::make_tuple(gx, gW, gb);
      },
      py::arg("grad_a"), py::arg("x"), py::arg("W"), py::arg("a"), py::arg("activation"));
  m.def(
      "dense_backward_sgd",
      [](const CArray<T>& grad_a, const CArray<T>& x, py::array W, py::array b, const CArray<T>& a,
         const std::string& act, double lr) {
        T* pW = writable_data<T>(W, "W");
        T* pb = writable_data<T>(b, "b");
        const auto [n, n_in, n_out] = layer_dims(x, W, {{"a", &a}, {"grad_a", &grad_a}});
        require_shape(b, "b", {n_out});
        if (!std::isfinite(lr)) throw py::value_error("lr: expected a finite number");
        const fastbp::Activation activation = fastbp::parse_activation(act);
        CArray<T> gx({n, n_in});
        T* pgx = gx.mutable_data();
        py::gil_scoped_release release;
        fastbp::dense_backward_sgd<T>(n, n_in, n_out, grad_a.data(), x.data(), pW, pb, a.data(),
                                      activation, T(lr), pgx);
        return gx;
      },
      py::arg("grad_a"), py::arg("x"), py::arg("W"), py::arg("b"), py::arg("a"),
      py::arg("activation"), py::arg("lr"));
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "fastbp's compiled core (use the fastbp package, not this module directly)";
  // DivergenceError(FloatingPointError) with .epoch and .batch (1-based; 0 outside fit).
  // The class lives on the module (no static Python object to outlive the interpreter).
  py::exception<fastbp::DivergenceError>(m, "DivergenceError", PyExc_FloatingPointError);
  m.attr("DivergenceError").attr("__doc__") = R"(A training step met a NaN or infinite loss.

Raised by MLP.fit (attributes ``epoch`` and ``batch``, 1-based, and ``history`` with the finished
epochs; the model is left with finite weights from before the divergence) and MLP.train_step
(``epoch == batch == 0``; the step is not applied). Usually the learning rate is too high.

>>> import numpy as np, fastbp
>>> net = fastbp.MLP([2, 4, 1], hidden="identity", seed=0)
>>> try:
...     net.fit(np.full((8, 2), 1e18), np.zeros((8, 1)), epochs=5, lr=1.0)
... except fastbp.DivergenceError as error:
...     print(error.epoch, error.batch, np.isfinite(net.weights[0]).all())
2 1 True
)";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const fastbp::DivergenceError& e) {
      const py::object type = py::module_::import("fastbp._core").attr("DivergenceError");
      py::object error = type(e.what());
      error.attr("epoch") = e.epoch();
      error.attr("batch") = e.batch();
      PyErr_SetObject(type.ptr(), error.ptr());
    }
  });
  bind_network<float>(m, "Network32");
  bind_network<double>(m, "Network64");
  // float64 first: pybind11 tries overloads in order without conversion, then with.
  bind_dense<double>(m);
  bind_dense<float>(m);
  m.def(
      "all_finite",
      [](const py::array& a) {
        // Only arrays it can read in place; anything else is left to NumPy by the caller.
        if (!(a.flags() & py::array::c_style))
          throw py::type_error("all_finite: expected a C-contiguous array");
        const std::ptrdiff_t n = a.size();
        if (py::isinstance<py::array_t<float>>(a)) {
          const float* p = static_cast<const float*>(a.data());
          py::gil_scoped_release release;
          return fastbp::detail::all_finite(p, n);
        }
        if (py::isinstance<py::array_t<double>>(a)) {
          const double* p = static_cast<const double*>(a.data());
          py::gil_scoped_release release;
          return fastbp::detail::all_finite(p, n);
        }
        throw py::type_error("all_finite: expected float32 or float64");
      },
      py::arg("array"), "True when no element is NaN or infinite (SIMD, GIL released).");
  // Thread control; fastbp.parallel checks arguments and documents these.
  m.def("get_num_threads", &fastbp::get_num_threads);
  m.def("set_num_threads", &fastbp::set_num_threads, py::arg("n"));
  m.def("threads_disabled_by_fork", &fastbp::threads_disabled_by_fork);
  m.def("set_parallel_threshold", &fastbp::set_parallel_threshold, py::arg("flops_per_thread"));
  m.def("parallel_threshold", &fastbp::parallel_threshold);
  m.def("threads_used", &fastbp::threads_used);
  m.def("reset_threads_used", &fastbp::reset_threads_used);
  m.def("simd_level", &fastbp::simd_level,
        R"(The SIMD instruction set the kernels use: "avx512", "avx2" or "portable".

Chosen at import from the CPU; FASTBP_SIMD=avx2 (or portable) in the environment caps it.

>>> import fastbp
>>> fastbp.simd_level() in ("avx512", "avx2", "portable")
True
)");
  m.def(
      "set_simd_level", [](const std::string& name) { fastbp::set_simd_level(name.c_str()); },
      py::arg("name"));
}
