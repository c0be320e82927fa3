// The pybind11 module fastbp._core, one file per part: settings.cpp (optimizer, schedule and fit
// options as objects built and checked once), network.cpp (Network32/64), dense.cpp (the fused
// layer functions), module.cpp (the module, its tables and thread/SIMD controls).
#pragma once

#include <pybind11/pybind11.h>

namespace fastbp_bindings {

void bind_settings(pybind11::module_& m);
void bind_networks(pybind11::module_& m);
void bind_dense(pybind11::module_& m);

}  // namespace fastbp_bindings
