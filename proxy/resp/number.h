// Strict decimal integer parsing as Redis's string2ll: optional '-', digits, nothing else, no
// leading '+' or spaces, no overflow.
#pragma once

#include <charconv>
#include <cstdint>
#include <string_view>

namespace slotgate::resp {

inline bool parseInt(std::string_view text, int64_t* value) {
  if (text.empty() || text.size() > 20) return false;
  if (text[0] == '+') return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace slotgate::resp
