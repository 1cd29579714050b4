// One table per enum: its values in declaration order, each with the name
// users see (config keys, status JSON, log lines, the control protocol).
//
// Contract: an enum `E` whose values run 0..N-1 declares
//   inline constexpr Names<E, N> e_names{{{E::a, "a"}, ...}};
// and its table is checked at compile time: every entry sits at its own
// value's index, so adding an enumerator without a name (or out of order)
// fails the build. name() and parse() are then lookups in that one table;
// nothing else spells the names.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace hbmon {

template <typename E, std::size_t N> struct Names {
  struct Entry {
    E value;
    std::string_view name;
  };
  std::array<Entry, N> entries;

  // True when entry i names value i, for every i.
  constexpr bool in_order() const {
    for (std::size_t i = 0; i < N; ++i)
      if (static_cast<std::size_t>(entries[i].value) != i || entries[i].name.empty())
        return false;
    return true;
  }
  constexpr std::string_view name(E e) const {
    const auto i = static_cast<std::size_t>(e);
    return i < N ? entries[i].name : std::string_view{"unknown"};
  }
  constexpr std::optional<E> parse(std::string_view s) const {
    for (const auto &entry : entries)
      if (entry.name == s)
        return entry.value;
    return std::nullopt;
  }
  // The names alone, in order: the choices offered to users.
  constexpr std::array<std::string_view, N> names() const {
    std::array<std::string_view, N> out{};
    for (std::size_t i = 0; i < N; ++i)
      out[i] = entries[i].name;
    return out;
  }
  static constexpr std::size_t size() { return N; }
};

} // namespace hbmon
