// A decoded reply, for the few places that read a reply's content (topology discovery, merges).
// The data path forwards bytes and never builds these.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace slotgate::resp {

struct Value {
  enum class Type : uint8_t {
    kSimple,
    kError,
    kInteger,
    kBulk,
    kNull,
    kArray,
    kDouble,
    kBool,
    kBigNumber,
    kVerbatim,
    kMap,
    kSet,
    kPush
  };
  Type type = Type::kNull;
  std::string str;              // simple, error, bulk, double, big number, verbatim
  int64_t integer = 0;          // integer, bool
  std::vector<Value> elements;  // array, set, push; a map as key, value, key, value, ...

  bool isArray() const { return type == Type::kArray || type == Type::kSet || type == Type::kPush; }
  bool isString() const { return type == Type::kBulk || type == Type::kSimple || type == Type::kVerbatim; }
  // The value under `key` in a map: a RESP3 map, or the flat key, value, ... array RESP2 sends for
  // one. nullptr if absent or not a map.
  const Value* field(std::string_view key) const;
};

// Decodes one complete reply (as delimited by ReplyScanner); nullopt if malformed.
std::optional<Value> decodeValue(std::string_view bytes);

}  // namespace slotgate::resp
