// Optimizer, schedule and fit settings as Python objects of the core's own types: built and
// range-checked once (by fastbp::validate, the one place the ranges are written), then handed to
// every call as they are, with no per-call conversion.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <utility>

#include "bindings.hpp"
#include "fastbp/fastbp.hpp"

namespace fastbp_bindings {
namespace {

namespace py = pybind11;

// A setting by name: a member of one of three kinds.
template <typename Settings>
struct Field {
  const char* name;
  double Settings::*real;
  int Settings::*integer;
  bool Settings::*flag;
};

template <typename Settings, std::size_t N>
void set_fields(Settings& s, const py::kwargs& values, const Field<Settings> (&fields)[N],
                const char* what) {
  for (const std::pair<py::handle, py::handle> item : values) {
    const py::object value = py::reinterpret_borrow<py::object>(item.second);
    const std::string name = py::str(item.first);
    const Field<Settings>* field = nullptr;
    for (const Field<Settings>& f : fields)
      if (name == f.name) field = &f;
    if (!field) throw py::value_error(std::string(what) + ": unknown setting '" + name + "'");
    const bool is_bool = py::isinstance<py::bool_>(value);
    if (field->flag) {
      if (!is_bool) throw py::type_error(name + ": expected a bool");
      s.*field->flag = value.cast<bool>();
    } else if (is_bool || !(py::isinstance<py::int_>(value) || py::isinstance<py::float_>(value))) {
      throw py::type_error(name + ": expected a number, got " +
                           std::string(py::str(py::type::of(value).attr("__name__"))));
    } else if (field->integer) {
      s.*field->integer = value.cast<int>();
    } else {
      s.*field->real = value.cast<double>();
    }
  }
}

using O = fastbp::Optimizer;
const Field<O> kOptimizerFields[] = {
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

using S = fastbp::LearningRateSchedule;
const Field<S> kScheduleFields[] = {
    {"power_t", &S::power_t, nullptr, nullptr}, {"step_size", nullptr, &S::step_size, nullptr},
    {"gamma", &S::gamma, nullptr, nullptr},     {"patience", nullptr, &S::patience, nullptr},
    {"factor", &S::factor, nullptr, nullptr},   {"tol", &S::tol, nullptr, nullptr},
    {"min_lr", &S::min_lr, nullptr, nullptr}};

const char* const kStoppingRules[] = {"patience", "sklearn"};
const char* const kMonitors[] = {"automatic", "training_loss", "validation_loss",
                                 "validation_accuracy", "validation_r2"};

template <std::size_t N>
int index_of(const char* const (&names)[N], const std::string& name, const char* what) {
  std::string all;
  for (std::size_t i = 0; i < N; ++i) {
    if (name == names[i]) return int(i);
    all += (i ? ", " : "") + std::string(names[i]);
  }
  throw py::value_error(std::string(what) + ": expected one of " + all + ", got '" + name + "'");
}

O optimizer_from(const std::string& kind, const py::kwargs& settings) {
  O o;
  o.kind = fastbp::parse_optimizer(kind);
  set_fields(o, settings, kOptimizerFields, "optimizer");
  fastbp::validate(o);
  return o;
}

}  // namespace

void bind_settings(py::module_& m) {
  py::class_<O>(m, "Optimizer", "An optimizer's settings, checked once (see fastbp.optimizers).")
      .def(py::init(&optimizer_from), py::arg("kind"))
      // From a dict of settings ("kind" defaults to sgd), for calling _core directly.
      // The caller's dict is left as it was (a copy loses "kind").
      .def(py::init([](const py::dict& given) {
        py::dict settings = given.attr("copy")();
        const std::string kind =
            settings.contains("kind") ? std::string(py::str(settings.attr("pop")("kind"))) : "sgd";
        return optimizer_from(kind, py::kwargs(std::move(settings)));
      }))
      .def_property_readonly("kind", [](const O& o) { return fastbp::to_string(o.kind); })
      .def_readonly("lr", &O::learning_rate)
      .def(
          "with_lr",
          [](O o, double lr) {
            o.learning_rate = lr;
            fastbp::validate(o);
            return o;
          },
          py::arg("lr"), "A copy with another learning rate.")
      .def(
          "with_weight_decay",
          [](O o, double weight_decay) {
            o.weight_decay = weight_decay;
            fastbp::validate(o);
            return o;
          },
          py::arg("weight_decay"), "A copy with another weight decay.");

  py::class_<S>(m, "Schedule", "A learning-rate schedule's settings (see fastbp.schedules).")
      .def(py::init([](const std::string& kind, const py::kwargs& settings) {
             S s;
             s.kind = fastbp::parse_schedule(kind);
             set_fields(s, settings, kScheduleFields, "lr_schedule");
             fastbp::validate(s);
             return s;
           }),
           py::arg("kind"))
      .def_property_readonly("kind", [](const S& s) { return fastbp::to_string(s.kind); });

  using P = fastbp::TrainingProgress;
  py::class_<P>(m, "TrainingProgress",
                "What carries over between fit calls that continue training (partial_fit).")
      .def(py::init<>())
      .def_readwrite("samples_seen", &P::samples_seen)
      .def_readwrite("learning_rate", &P::learning_rate)
      .def_readwrite("best", &P::best)
      .def_readwrite("has_best", &P::has_best)
      .def_readwrite("epochs_without_improvement", &P::epochs_without_improvement)
      .def_readonly("converged", &P::converged)
      .def(py::pickle(
          [](const P& p) {
            return py::make_tuple(p.samples_seen, p.learning_rate, p.best, p.has_best,
                                  p.epochs_without_improvement, p.converged);
          },
          [](const py::tuple& t) {
            if (t.size() != 6) throw py::value_error("TrainingProgress: a bad pickled state");
            P p;
            p.samples_seen = t[0].cast<double>();
            p.learning_rate = t[1].cast<double>();
            p.best = t[2].cast<double>();
            p.has_best = t[3].cast<bool>();
            p.epochs_without_improvement = t[4].cast<int>();
            p.converged = t[5].cast<bool>();
            return p;
          }));

  using F = fastbp::FitOptions;
  py::class_<F>(m, "FitOptions", "Everything fit does besides the data (see MLP.fit).")
      .def(py::init<>())
      .def_readwrite("epochs", &F::epochs)
      .def_readwrite("batch_size", &F::batch_size)
      .def_readwrite("optimizer", &F::optimizer)
      .def_readwrite("schedule", &F::schedule)
      .def_readwrite("shuffle", &F::shuffle)
      .def_readwrite("seed", &F::seed)
      .def_readwrite("patience", &F::patience)
      .def_readwrite("tol", &F::tol)
      .def_readwrite("restore_best", &F::restore_best)
      .def_readwrite("l2", &F::l2)
      .def_readwrite("loss_scale", &F::loss_scale)
      .def_readwrite("stop_on_divergence", &F::stop_on_divergence)
      .def_property(
          "stopping", [](const F& f) { return kStoppingRules[int(f.stopping)]; },
          [](F& f, const std::string& name) {
            f.stopping = fastbp::StoppingRule(index_of(kStoppingRules, name, "stopping"));
          })
      .def_property(
          "monitor", [](const F& f) { return kMonitors[int(f.monitor)]; },
          [](F& f, const std::string& name) {
            f.monitor = fastbp::Monitor(index_of(kMonitors, name, "monitor"));
          });
}

}  // namespace fastbp_bindings
