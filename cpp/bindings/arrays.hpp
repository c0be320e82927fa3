// NumPy arrays at the boundary: the shapes the core needs, re-checked here so that calling
// _core directly can raise but never crash (the package checks them first, with friendlier
// messages, in python/fastbp/_validation.py).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "elementwise.hpp"
#include "fastbp/network.hpp"

namespace fastbp_bindings {

namespace py = pybind11;

template <typename T>
using CArray = py::array_t<T, py::array::c_style | py::array::forcecast>;
using Labels = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;

inline std::string shape_of(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

inline void require_shape(const py::array& a, const char* name, std::vector<py::ssize_t> shape) {
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

inline py::ssize_t rows_of(const py::array& X, const char* name, py::ssize_t cols) {
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
                         (sizeof(T) == 4 ? "float32" : "float64") + " array, got a " +
                         (a.writeable() ? "" : "read-only ") +
                         (a.flags() & py::array::c_style ? "" : "non-contiguous ") +
                         std::string(py::str(a.dtype())) + " array");
  return static_cast<T*>(a.mutable_data());
}

// A copy the caller cannot change while the core reads it with the GIL released: index arrays
// (labels, a sparse matrix's structure) are checked once, and a change after the check could
// make the core read or write outside its buffers.
inline Labels owned_copy(const Labels& a) {
  Labels out(a.size());
  std::copy_n(a.data(), a.size(), out.mutable_data());
  return out;
}

// `a` as int64 indices of our own: the cast's result where it had to convert (int32 indices, a
// list), else a copy; one copy either way.
inline Labels private_indices(const py::object& a) {
  Labels cast = a.cast<Labels>();
  return cast.ptr() == a.ptr() ? owned_copy(cast) : cast;
}

// `a` itself when the core can read it in place with no check left to make: an ndarray of T in
// native byte order (array_t's check: a '>f4' array has float32's type number but not its
// bytes), C-contiguous, of `shape` (a negative extent: any, >= 1), every entry finite (for
// floating T); else nothing. The package's ready_* calls take it to skip its own checks, which
// cost more than the work on small arrays; anything else goes the checked way.
template <typename T>
std::optional<py::array> ready_array(const py::handle& a,
                                     std::initializer_list<py::ssize_t> shape) {
  if (!py::isinstance<py::array_t<T>>(a)) return std::nullopt;
  auto array = py::reinterpret_borrow<py::array>(a);
  if (!(array.flags() & py::array::c_style) || array.ndim() != py::ssize_t(shape.size()))
    return std::nullopt;
  py::ssize_t i = 0;
  for (const py::ssize_t extent : shape) {
    const py::ssize_t actual = array.shape(i++);
    if (actual < 1 || (extent >= 0 && actual != extent)) return std::nullopt;
  }
  if constexpr (std::is_floating_point_v<T>) {
    const auto* values = static_cast<const T*>(array.data());
    // Other Python threads run during the scan of a large array, as they did when the package
    // made it (all_finite releases the GIL).
    constexpr py::ssize_t kScanWithGil = py::ssize_t(1) << 16;
    bool finite;
    if (array.size() < kScanWithGil) {
      finite = fastbp::detail::all_finite(values, array.size());
    } else {
      py::gil_scoped_release release;
      finite = fastbp::detail::all_finite(values, array.size());
    }
    if (!finite) return std::nullopt;
  }
  return array;
}

// Targets for n samples and the arrays that keep their data alive.
template <typename T>
struct BoundTargets {
  fastbp::Targets<T> targets;
  CArray<T> values;
  Labels labels;
  CArray<T> weights;
};

template <typename T>
BoundTargets<T> bind_targets(std::ptrdiff_t n_out, py::ssize_t n, const py::object& values,
                             const py::object& labels, const char* name,
                             const py::object& weights) {
  BoundTargets<T> b;
  if (!values.is_none() == !labels.is_none())
    throw py::value_error(std::string(name) + ": give exactly one of a target matrix or labels");
  if (!values.is_none()) {
    b.values = values.cast<CArray<T>>();
    require_shape(b.values, name, {n, py::ssize_t(n_out)});
    b.targets.values = b.values.data();
  } else {
    b.labels = private_indices(labels);
    require_shape(b.labels, name, {n});
    b.targets.labels = b.labels.data();
  }
  if (!weights.is_none()) {
    b.weights = weights.cast<CArray<T>>();
    require_shape(b.weights, "sample_weight", {n});
    b.targets.weights = b.weights.data();
  }
  return b;
}

// Targets the core can read in place (see ready_array): a finite (n, n_out) matrix of T, or
// int64 labels (n,) for a softmax_ce network, copied because the core checks their range once
// and reads them with the GIL released. `ok` is false for anything else.
template <typename T>
struct ReadyTargets {
  fastbp::Targets<T> targets;
  std::optional<py::array> values;
  std::vector<std::int64_t> labels;
  bool ok = false;
};

template <typename T>
ReadyTargets<T> ready_targets(const fastbp::Network<T>& net, py::ssize_t n,
                              const py::handle& target) {
  ReadyTargets<T> r;
  r.values = ready_array<T>(target, {n, py::ssize_t(net.layers().back())});
  if (r.values) {
    r.targets.values = static_cast<const T*>(r.values->data());
    r.ok = true;
  } else if (net.loss_kind() == fastbp::Loss::softmax_ce) {
    const std::optional<py::array> labels = ready_array<std::int64_t>(target, {n});
    if (!labels) return r;
    const auto* first = static_cast<const std::int64_t*>(labels->data());
    r.labels.assign(first, first + n);
    r.targets.labels = r.labels.data();
    r.ok = true;
  }
  return r;
}

// The samples of a call and the arrays that keep their data alive: a 2-D array, or a scipy.sparse
// CSR matrix or array (anything with format "csr", indptr, indices, data and shape). A sparse
// matrix's values are read in place when they are T; its index arrays are always copied (see
// owned_copy), O(nonzeros) against the O(nonzeros x width) of the first layer.
template <typename T>
struct BoundInputs {
  fastbp::Inputs<T> inputs;
  py::ssize_t n = 0;
  CArray<T> dense;
  Labels indptr, indices;
  CArray<T> values;
};

inline bool is_csr(const py::object& X) {
  // An ndarray first: asking it for "format" would raise and catch an AttributeError per call.
  if (py::isinstance<py::array>(X)) return false;
  return py::hasattr(X, "format") && py::hasattr(X, "indptr") &&
         py::str(X.attr("format")).cast<std::string>() == "csr";
}

template <typename T>
BoundInputs<T> bind_inputs_unchecked(const py::object& X, const char* name, py::ssize_t cols) {
  BoundInputs<T> b;
  if (!is_csr(X)) {
    b.dense = X.cast<CArray<T>>();
    b.n = rows_of(b.dense, name, cols);
    b.inputs = b.dense.data();
    return b;
  }
  const auto shape = X.attr("shape").cast<std::vector<py::ssize_t>>();
  if (shape.size() != 2 || shape[1] != cols)
    throw py::value_error(std::string(name) + ": expected a sparse matrix with " +
                          std::to_string(cols) + " columns, got shape (" +
                          (shape.empty() ? "" : std::to_string(shape[0])) +
                          (shape.size() > 1 ? ", " + std::to_string(shape[1]) : "") + ")");
  b.n = shape[0];
  if (b.n < 1) throw py::value_error(std::string(name) + ": expected at least one sample");
  b.indptr = private_indices(X.attr("indptr"));
  b.indices = private_indices(X.attr("indices"));
  b.values = X.attr("data").cast<CArray<T>>();
  if (b.indptr.ndim() != 1 || b.indptr.size() != b.n + 1)
    throw py::value_error(std::string(name) + ": a sparse matrix's indptr must have " +
                          std::to_string(b.n + 1) + " entries, got shape " + shape_of(b.indptr));
  if (b.indices.ndim() != 1 || b.values.ndim() != 1 || b.indices.size() != b.values.size())
    throw py::value_error(std::string(name) +
                          ": a sparse matrix's indices and data must be "
                          "1-D arrays of one length, got shapes " +
                          shape_of(b.indices) + " and " + shape_of(b.values));
  const std::int64_t stored = b.indptr.data()[b.n];
  if (stored < 0 || stored > b.indices.size())
    throw py::value_error(std::string(name) + ": indptr[-1] = " + std::to_string(stored) +
                          " does not fit the " + std::to_string(b.indices.size()) +
                          " stored values");
  b.inputs = fastbp::SparseRows<T>{b.indptr.data(), b.indices.data(), b.values.data()};
  return b;
}

template <typename T>
BoundInputs<T> bind_inputs(const py::object& X, const char* name, py::ssize_t cols) {
  try {
    return bind_inputs_unchecked<T>(X, name, cols);
  } catch (const py::cast_error&) {
    throw py::type_error(std::string(name) +
                         ": expected a 2-D array of numbers or a "
                         "scipy.sparse CSR matrix, got " +
                         std::string(py::str(py::type::of(X).attr("__name__"))));
  }
}

}  // namespace fastbp_bindings
