// A few assertion macros for the C++ tests: a failing check prints what differed and by how
// much, the test keeps going, and the process exits non-zero.
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace fastbp_test {

inline int& failures() {
  static int n = 0;
  return n;
}

inline void report(const char* file, int line, const char* message) {
  std::fprintf(stderr, "%s:%d: FAILED: %s\n", file, line, message);
  ++failures();
}

inline int finish(const char* name) {
  if (failures() == 0) {
    std::printf("%s: all checks passed\n", name);
    return EXIT_SUCCESS;
  }
  std::printf("%s: %d checks failed\n", name, failures());
  return EXIT_FAILURE;
}

}  // namespace fastbp_test

#define CHECK(cond)                                                           \
  do {                                                                        \
    if (!(cond)) fastbp_test::report(__FILE__, __LINE__, "CHECK(" #cond ")"); \
  } while (0)

// |actual - expected| <= tol * max(1, |expected|)
#define CHECK_CLOSE(actual, expected, tol, what)                                            \
  do {                                                                                      \
    const double a_ = double(actual), e_ = double(expected);                                \
    const double err_ = std::fabs(a_ - e_), bound_ = (tol) * std::fmax(1.0, std::fabs(e_)); \
    if (!(err_ <= bound_)) {                                                                \
      char buf_[512];                                                                       \
      std::snprintf(buf_, sizeof buf_, "%s: got %.10g, expected %.10g (error %.3g > %.3g)", \
                    std::string(what).c_str(), a_, e_, err_, bound_);                       \
      fastbp_test::report(__FILE__, __LINE__, buf_);                                        \
    }                                                                                       \
  } while (0)
