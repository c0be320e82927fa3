// Lookups in the name tables of the enums (activations, losses, optimizers, schedules), each
// table generated from its descriptors' registry: one table per enum, also what the Python
// package's name lists come from.
#pragma once

#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace fastbp::detail {

template <typename Entry, typename = void>
struct HasAlias : std::false_type {};
template <typename Entry>
struct HasAlias<Entry, std::void_t<decltype(std::declval<Entry>().alias)>> : std::true_type {};

// The entry whose name (or, when the entry has one, alias) is `name`; std::invalid_argument
// listing every name otherwise.
template <typename Table>
const auto& find_by_name(const Table& table, const std::string& name, const char* what) {
  std::string names;
  for (const auto& entry : table) {
    if (name == entry.name) return entry;
    if constexpr (HasAlias<std::decay_t<decltype(entry)>>::value)
      if (*entry.alias && name == entry.alias) return entry;
    names += (names.empty() ? "" : ", ") + std::string(entry.name);
  }
  throw std::invalid_argument("unknown " + std::string(what) + " '" + name +
                              "'; expected one of " + names);
}

template <typename Table, typename Kind>
const char* name_of(const Table& table, Kind kind) {
  for (const auto& entry : table)
    if (entry.kind == kind) return entry.name;
  return "?";
}

}  // namespace fastbp::detail
