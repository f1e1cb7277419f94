#include "proxy/resp/value.h"

#include "proxy/resp/number.h"

namespace slotgate::resp {
namespace {

bool decodeAt(std::string_view data, size_t* pos, Value* out, int depth) {
  if (depth > 64 || *pos >= data.size()) return false;
  size_t cr = data.find("\r\n", *pos);
  if (cr == std::string_view::npos) return false;
  char type = data[*pos];
  std::string_view line = data.substr(*pos + 1, cr - *pos - 1);
  *pos = cr + 2;
  switch (type) {
    case '+':
      out->type = Value::Type::kSimple;
      out->str = line;
      return true;
    case '-':
      out->type = Value::Type::kError;
      out->str = line;
      return true;
    case ':':
      out->type = Value::Type::kInteger;
      return parseInt(line, &out->integer);
    case '_':
      out->type = Value::Type::kNull;
      return true;
    case ',':
      out->type = Value::Type::kDouble;
      out->str = line;
      return true;
    case '(':
      out->type = Value::Type::kBigNumber;
      out->str = line;
      return true;
    case '#':
      out->type = Value::Type::kBool;
      out->integer = line == "t";
      return line == "t" || line == "f";
    case '$':
    case '!':
    case '=': {
      int64_t len = 0;
      if (!parseInt(line, &len) || len < -1) return false;
      if (len == -1) {
        out->type = Value::Type::kNull;
        return true;
      }
      if (data.size() < *pos + static_cast<size_t>(len) + 2) return false;
      if (data[*pos + len] != '\r' || data[*pos + len + 1] != '\n') return false;
      out->type = type == '$' ? Value::Type::kBulk : type == '!' ? Value::Type::kError : Value::Type::kVerbatim;
      out->str = data.substr(*pos, static_cast<size_t>(len));
      *pos += static_cast<size_t>(len) + 2;
      return true;
    }
    case '*':
    case '~':
    case '>':
    case '%': {
      int64_t count = 0;
      if (!parseInt(line, &count) || count < -1) return false;
      if (count == -1) {
        out->type = Value::Type::kNull;
        return true;
      }
      out->type = type == '*'   ? Value::Type::kArray
                  : type == '~' ? Value::Type::kSet
                  : type == '>' ? Value::Type::kPush
                                : Value::Type::kMap;
      // Every element takes at least 3 bytes ("_\r\n"): a count beyond that is malformed, and
      // must not make us allocate for it.
      if (count > static_cast<int64_t>((data.size() - *pos) / 3) + 1) return false;
      if (type == '%') count *= 2;
      out->elements.resize(static_cast<size_t>(count));
      for (auto& element : out->elements) {
        if (!decodeAt(data, pos, &element, depth + 1)) return false;
      }
      return true;
    }
    case '|': {  // attributes: skip them, keep the value they annotate
      int64_t count = 0;
      if (!parseInt(line, &count) || count < 0) return false;
      Value skipped;
      for (int64_t i = 0; i < count * 2; ++i) {
        if (!decodeAt(data, pos, &skipped, depth + 1)) return false;
      }
      return decodeAt(data, pos, out, depth + 1);
    }
    default:
      return false;
  }
}

}  // namespace

const Value* Value::field(std::string_view key) const {
  if (!isArray() && type != Type::kMap) return nullptr;
  for (size_t i = 0; i + 1 < elements.size(); i += 2) {
    if (elements[i].isString() && elements[i].str == key) return &elements[i + 1];
  }
  return nullptr;
}

std::optional<Value> decodeValue(std::string_view bytes) {
  Value value;
  size_t pos = 0;
  if (!decodeAt(bytes, &pos, &value, 0) || pos != bytes.size()) return std::nullopt;
  return value;
}

}  // namespace slotgate::resp
