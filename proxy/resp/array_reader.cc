#include "proxy/resp/array_reader.h"

#include "proxy/resp/number.h"
#include "proxy/resp/reply_scanner.h"

namespace slotgate::resp {

bool arrayElements(std::string_view reply, std::vector<std::string_view>* elements) {
  elements->clear();
  if (reply.empty() || reply[0] != '*') return false;
  size_t cr = reply.find("\r\n");
  int64_t count = 0;
  if (cr == std::string_view::npos || !parseInt(reply.substr(1, cr - 1), &count) || count < -1) return false;
  size_t pos = cr + 2;
  ReplyScanner scanner;
  for (int64_t i = 0; i < count; ++i) {
    std::string_view rest = reply.substr(pos);
    if (scanner.scan(rest) != ReplyScanner::Status::kComplete) return false;
    elements->push_back(rest.substr(0, scanner.length()));
    pos += scanner.length();
  }
  return pos == reply.size();
}

}  // namespace slotgate::resp
