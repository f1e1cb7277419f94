#include "proxy/resp/writer.h"

#include <charconv>

namespace slotgate::resp {
namespace {

void appendNumberLine(std::string& out, char prefix, int64_t value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  (void)ec;
  out.push_back(prefix);
  out.append(buf, end);
  out.append("\r\n");
}

}  // namespace

void appendSimple(std::string& out, std::string_view status) {
  out.push_back('+');
  out.append(status);
  out.append("\r\n");
}

void appendError(std::string& out, std::string_view message) {
  out.push_back('-');
  for (char c : message) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
  out.append("\r\n");
}

void appendInteger(std::string& out, int64_t value) { appendNumberLine(out, ':', value); }

void appendBulk(std::string& out, std::string_view bytes) {
  appendNumberLine(out, '$', static_cast<int64_t>(bytes.size()));
  out.append(bytes);
  out.append("\r\n");
}

void appendNullBulk(std::string& out) { out.append("$-1\r\n"); }

void appendArrayHeader(std::string& out, size_t count) { appendNumberLine(out, '*', static_cast<int64_t>(count)); }

void appendCommand(std::string& out, const std::vector<std::string_view>& argv,
                   std::vector<std::pair<uint32_t, uint32_t>>* offsets) {
  size_t start = out.size();
  appendArrayHeader(out, argv.size());
  for (std::string_view arg : argv) {
    appendNumberLine(out, '$', static_cast<int64_t>(arg.size()));
    if (offsets) offsets->emplace_back(static_cast<uint32_t>(out.size() - start), arg.size());
    out.append(arg);
    out.append("\r\n");
  }
}

void appendNull(std::string& out, int proto) { out += proto == 3 ? "_\r\n" : "$-1\r\n"; }

void appendNullArray(std::string& out, int proto) { out += proto == 3 ? "_\r\n" : "*-1\r\n"; }

void appendMapHeader(std::string& out, size_t pairs, int proto) {
  if (proto != 3) return appendArrayHeader(out, pairs * 2);
  out += '%';
  out += std::to_string(pairs);
  out += "\r\n";
}

void appendPushHeader(std::string& out, size_t count, int proto) {
  if (proto != 3) return appendArrayHeader(out, count);
  out += '>';
  out += std::to_string(count);
  out += "\r\n";
}

void appendVerbatim(std::string& out, std::string_view text, int proto) {
  if (proto != 3) return appendBulk(out, text);
  out += '=';
  out += std::to_string(text.size() + 4);
  out += "\r\ntxt:";
  out += text;
  out += "\r\n";
}

}  // namespace slotgate::resp
