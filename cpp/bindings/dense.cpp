// The fused dense-layer functions (fastbp.functional): dense_forward, dense_backward,
// dense_backward_sgd, for float64 and float32 arrays.
#include <pybind11/pybind11.h>

#include <cmath>
#include <initializer_list>
#include <string>
#include <utility>

#include "arrays.hpp"
#include "bindings.hpp"
#include "fastbp/fastbp.hpp"

namespace fastbp_bindings {
namespace {

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

// The pre-activation z of a layer, or null: (n, n_out) when given.
template <typename T>
const T* preactivation(const py::object& z, CArray<T>& keep, const LayerDims& d) {
  if (z.is_none()) return nullptr;
  keep = z.cast<CArray<T>>();
  require_shape(keep, "z", {d.n, d.n_out});
  return keep.data();
}

template <typename T>
void bind_dense_of(py::module_& m) {
  m.def(
      "dense_forward",
      [](const CArray<T>& x, const CArray<T>& W, const CArray<T>& b, const std::string& act,
         bool return_preactivation) -> py::object {
        const auto [n, n_in, n_out] = layer_dims(x, W, {});
        require_shape(b, "b", {n_out});
        const fastbp::Activation a = fastbp::parse_activation(act);
        CArray<T> out({n, n_out});
        CArray<T> z = return_preactivation ? CArray<T>({n, n_out}) : CArray<T>();
        T* dst = out.mutable_data();
        T* z_dst = return_preactivation ? z.mutable_data() : nullptr;
        {
          py::gil_scoped_release release;
          fastbp::dense_forward<T>(n, n_in, n_out, x.data(), W.data(), b.data(), a, dst, z_dst);
        }
        if (return_preactivation) return py::make_tuple(out, z);
        return std::move(out);
      },
      py::arg("x"), py::arg("W"), py::arg("b"), py::arg("activation"),
      py::arg("return_preactivation") = false);
  m.def(
      "dense_backward",
      [](const CArray<T>& grad_a, const CArray<T>& x, const CArray<T>& W, const CArray<T>& a,
         const std::string& act, const py::object& z) {
        const LayerDims d = layer_dims(x, W, {{"a", &a}, {"grad_a", &grad_a}});
        const fastbp::Activation activation = fastbp::parse_activation(act);
        CArray<T> z_array;
        const T* pz = preactivation<T>(z, z_array, d);
        CArray<T> gx({d.n, d.n_in}), gW({d.n_in, d.n_out}), gb({d.n_out});
        T *pgx = gx.mutable_data(), *pgW = gW.mutable_data(), *pgb = gb.mutable_data();
        {
          py::gil_scoped_release release;
          fastbp::dense_backward<T>(d.n, d.n_in, d.n_out, grad_a.data(), x.data(), W.data(),
                                    a.data(), activation, pgx, pgW, pgb, pz);
        }
        return py::make_tuple(gx, gW, gb);
      },
      py::arg("grad_a"), py::arg("x"), py::arg("W"), py::arg("a"), py::arg("activation"),
      py::arg("z") = py::none());
  m.def(
      "dense_backward_sgd",
      [](const CArray<T>& grad_a, const CArray<T>& x, py::array W, py::array b, const CArray<T>& a,
         const std::string& act, double lr, const py::object& z) {
        T* pW = writable_data<T>(W, "W");
        T* pb = writable_data<T>(b, "b");
        const LayerDims d = layer_dims(x, W, {{"a", &a}, {"grad_a", &grad_a}});
        require_shape(b, "b", {d.n_out});
        if (!std::isfinite(lr)) throw py::value_error("lr: expected a finite number");
        const fastbp::Activation activation = fastbp::parse_activation(act);
        CArray<T> z_array;
        const T* pz = preactivation<T>(z, z_array, d);
        CArray<T> gx({d.n, d.n_in});
        T* pgx = gx.mutable_data();
        py::gil_scoped_release release;
        fastbp::dense_backward_sgd<T>(d.n, d.n_in, d.n_out, grad_a.data(), x.data(), pW, pb,
                                      a.data(), activation, T(lr), pgx, pz);
        return gx;
      },
      py::arg("grad_a"), py::arg("x"), py::arg("W"), py::arg("b"), py::arg("a"),
      py::arg("activation"), py::arg("lr"), py::arg("z") = py::none());
}

}  // namespace

void bind_dense(py::module_& m) {
  // float64 first: pybind11 tries overloads in order without conversion, then with.
  bind_dense_of<double>(m);
  bind_dense_of<float>(m);
}

}  // namespace fastbp_bindings
