// Strict decimal integer parsing as Redis's string2ll: optional '-', digits, nothing else, no
// leading '+', zeros or spaces, no "-0", no overflow.
#pragma once

#include <charconv>
#include <cstdint>
#include <string_view>

namespace slotgate::resp {

inline bool parseInt(std::string_view text, int64_t* value) {
  if (text.empty() || text.size() > 20) return false;
  // No sign but '-', no leading zeros, no "-0": one spelling per number, as string2ll.
  size_t digits = text[0] == '-' ? 1 : 0;
  if (digits >= text.size() || text[digits] < '0' || text[digits] > '9') return false;
  if (text[digits] == '0' && (text.size() > 1)) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace slotgate::resp
