// ASCII helpers for command names and options, which Redis compares case-insensitively.
#pragma once

#include <algorithm>
#include <initializer_list>
#include <string>
#include <string_view>

namespace slotgate::common {

inline std::string toLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

inline bool isOneOf(std::string_view name, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace slotgate::common
