// Strict decimal integer parsing as Redis's string2ll: optional '-', digits, nothing else, no
// leading '+', zeros or spaces, no "-0", no overflow. Hand-rolled: it runs for every length
// header of every request and reply.
#pragma once

#include <cstdint>
#include <string_view>

namespace slotgate::resp {

inline bool parseInt(std::string_view text, int64_t* value) {
  if (text.empty() || text.size() > 20) return false;
  bool negative = text[0] == '-';
  size_t i = negative ? 1 : 0;
  if (i >= text.size() || text[i] < '0' || text[i] > '9') return false;
  // One spelling per number: no leading zeros, and no "-0".
  if (text[i] == '0') {
    if (text.size() != 1) return false;
    *value = 0;
    return true;
  }
  uint64_t magnitude = 0;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c < '0' || c > '9') return false;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (magnitude > (UINT64_MAX - digit) / 10) return false;
    magnitude = magnitude * 10 + digit;
  }
  if (negative) {
    if (magnitude > uint64_t{INT64_MAX} + 1) return false;
    *value = magnitude == uint64_t{INT64_MAX} + 1 ? INT64_MIN : -static_cast<int64_t>(magnitude);
  } else {
    if (magnitude > uint64_t{INT64_MAX}) return false;
    *value = static_cast<int64_t>(magnitude);
  }
  return true;
}

}  // namespace slotgate::resp
