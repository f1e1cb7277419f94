#include "proxy/state/pubsub_reply.h"

#include <string>

#include "proxy/resp/array_reader.h"

namespace slotgate::state {

// "$7\r\nmessage\r\n" -> "message"
std::string_view bulkText(std::string_view element) {
  if (element.empty() || element[0] != '$') return {};
  size_t start = element.find("\r\n") + 2;
  return element.substr(start, element.size() - start - 2);
}

// Messages pass through untouched: recognise them by their first bytes.
bool isMessage(std::string_view reply) {
  if (reply.size() < 16) return false;
  std::string_view rest = reply.substr(1);
  return rest.starts_with("3\r\n$7\r\nmessage\r\n") || rest.starts_with("4\r\n$8\r\npmessage\r\n") ||
         rest.starts_with("3\r\n$8\r\nsmessage\r\n");
}

// Elements of an array or push reply.
bool elementsOf(std::string_view reply, std::vector<std::string_view>* elements) {
  if (reply.empty() || (reply[0] != '*' && reply[0] != '>')) return false;
  if (reply[0] == '*') return resp::arrayElements(reply, elements);
  std::string copy(reply);
  copy[0] = '*';
  std::vector<std::string_view> in_copy;
  if (!resp::arrayElements(copy, &in_copy)) return false;
  elements->clear();
  for (std::string_view e : in_copy) elements->push_back(reply.substr(e.data() - copy.data(), e.size()));
  return true;
}

}  // namespace slotgate::state
