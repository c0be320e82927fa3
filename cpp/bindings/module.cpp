// fastbp._core: a thin pybind11 layer over the C++ core. Argument checking that needs NumPy
// semantics lives in python/fastbp/_validation.py; the parts here re-check every shape so that
// calling _core directly can raise but never crash. Long calls release the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>

#include "bindings.hpp"
#include "elementwise.hpp"
#include "fastbp/fastbp.hpp"

namespace py = pybind11;

namespace {

// The name tables of the core: the package's name lists, PyTorch conversion, ONNX and C export.
py::list activation_table() {
  py::list out;
  for (const fastbp::ActivationInfo& a : fastbp::activation_table()) {
    py::dict d;
    d["name"] = a.name;
    d["alias"] = a.alias;
    d["output_only"] = a.output_only;
    d["derivative_needs_input"] = a.derivative_needs_input;
    d["init"] = a.init;
    d["torch_module"] = a.torch_module;
    d["torch_arguments"] = a.torch_arguments;
    d["onnx_op"] = a.onnx_op;
    d["onnx_attributes"] = a.onnx_attributes;
    d["c_forward"] = a.c_forward;
    out.append(d);
  }
  return out;
}

py::list loss_table() {
  py::list out;
  for (const fastbp::LossInfo& l : fastbp::loss_table()) {
    py::dict d;
    d["name"] = l.name;
    d["output"] = l.output;
    out.append(d);
  }
  return out;
}

py::list optimizer_table() {
  py::list out;
  for (const fastbp::OptimizerInfo& o : fastbp::optimizer_table()) {
    py::dict d;
    d["name"] = o.name;
    d["state_names"] = o.state_names;
    out.append(d);
  }
  return out;
}

bool all_finite(const py::array& a) {
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
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "fastbp's compiled core (use the fastbp package, not this module directly)";
  m.attr("__version__") = FASTBP_VERSION;
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
  fastbp_bindings::bind_settings(m);
  fastbp_bindings::bind_networks(m);
  fastbp_bindings::bind_dense(m);

  m.def("activation_table", &activation_table);
  m.def(
      "validate_loss",
      [](const std::string& name, double delta) {
        fastbp::validate(fastbp::LossFunction(fastbp::parse_loss(name), delta));
      },
      py::arg("name"), py::arg("delta"));
  m.def("loss_table", &loss_table);
  m.def("optimizer_table", &optimizer_table);
  m.def("all_finite", &all_finite, py::arg("array"),
        "True when no element is NaN or infinite (SIMD, GIL released).");

  // Threads and SIMD levels; fastbp.parallel checks arguments and documents these.
  m.def("get_num_threads", &fastbp::get_num_threads);
  m.def("set_num_threads", &fastbp::set_num_threads, py::arg("n"));
  m.def("threads_disabled_by_fork", &fastbp::threads_disabled_by_fork);
  m.def("set_parallel_threshold", &fastbp::set_parallel_threshold, py::arg("flops_per_thread"));
  m.def("parallel_threshold", &fastbp::parallel_threshold);
  m.def("threads_used", &fastbp::threads_used);
  m.def("set_adapt_to_load", &fastbp::set_adapt_to_load, py::arg("on"));
  m.def("adapts_to_load", &fastbp::adapts_to_load);
  m.def("load_adaptation", [] {
    const fastbp::LoadAdaptation a = fastbp::load_adaptation();
    py::dict d;
    d["late_signals"] = a.late_signals;
    d["back_offs"] = a.back_offs;
    d["false_alarms"] = a.false_alarms;
    d["backing_off"] = a.backing_off;
    return d;
  });
  m.def("reset_threads_used", &fastbp::reset_threads_used);
  m.def("simd_level", &fastbp::simd_level,
        R"(The kernel level in use: "avx512", "avx2", "portable" or "reference".

Chosen at import from the CPU (never "reference", the scalar oracle, unless asked for);
FASTBP_SIMD=avx2 (or portable, reference) in the environment caps it.

>>> import fastbp
>>> fastbp.simd_level() in ("avx512", "avx2", "portable")
True
)");
  m.def(
      "cpu_info",
      [] {
        const fastbp::CpuInfo info = fastbp::cpu_info();
        const auto blocking = [](const fastbp::GemmBlocking& b) {
          py::dict d;
          d["mr"] = b.mr;
          d["nr"] = b.nr;
          d["kc"] = b.kc;
          d["mc"] = b.mc;
          d["nc"] = b.nc;
          return d;
        };
        py::dict d;
        d["vendor"] = info.vendor;
        d["model_name"] = info.model_name;
        d["family"] = info.family;
        d["model"] = info.model;
        d["l1d_bytes"] = info.l1d_bytes;
        d["l2_bytes"] = info.l2_bytes;
        d["l3_bytes"] = info.l3_bytes;
        d["simd_level"] = info.simd_level;
        d["slow_masked_stores"] = info.slow_masked_stores;
        d["shared_panel_elements"] = info.shared_panel_elements;
        d["gemm_float32"] = blocking(info.f32);
        d["gemm_float64"] = blocking(info.f64);
        d["blocking_source"] = info.blocking_source;
        d["threads"] = fastbp::get_num_threads();
        return d;
      },
      R"(What fastbp found out about this CPU and what it chose from it (a dict).

vendor, model_name, family, model (from cpuid; empty off x86), l1d_bytes, l2_bytes, l3_bytes
(0 where the OS does not say), simd_level, slow_masked_stores (AMD), the GEMM's register tile
and cache blocking per dtype (gemm_float32, gemm_float64: mr, nr, kc, mc, nc), where the
blocking came from ("built in", or "FASTBP_GEMM_BLOCKING" when that environment variable set
it for a tuning experiment), and the thread setting.

>>> import fastbp
>>> info = fastbp.cpu_info()
>>> info["simd_level"] == fastbp.simd_level(), info["gemm_float32"]["mr"] > 0
(True, True)
)");
  m.def("available_simd_levels", &fastbp::available_simd_levels);
  m.def("unrecognised_simd_request", &fastbp::unrecognised_simd_request);
  m.def(
      "set_simd_level", [](const std::string& name) { fastbp::set_simd_level(name.c_str()); },
      py::arg("name"));
}
