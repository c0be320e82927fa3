#include "fastbp/errors.hpp"

#include <cstdio>
#include <string>

namespace fastbp {
namespace {

// 4000040064 -> "4,000,040,064 bytes (3.73 GiB)"
std::string describe_bytes(std::size_t bytes) {
  std::string digits = std::to_string(bytes), grouped;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) grouped += ',';
    grouped += digits[i];
  }
  char gib[32];
  std::snprintf(gib, sizeof gib, "%.2f GiB", double(bytes) / double(1ull << 30));
  return grouped + " bytes (" + gib + ")";
}

}  // namespace

OutOfMemoryError::OutOfMemoryError(const std::string& buffer, std::size_t bytes)
    : message_("not enough memory for " + buffer + ": " + describe_bytes(bytes) +
               " could not be allocated"),
      bytes_(bytes) {}

}  // namespace fastbp
