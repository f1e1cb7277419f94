// Reading the replies of a pub/sub link: messages (passed through untouched) and confirmations.
#pragma once

#include <string_view>
#include <vector>

namespace slotgate::state {

// "$7\r\nmessage\r\n" -> "message"
std::string_view bulkText(std::string_view element);
// A message, pmessage or smessage (recognised by its first bytes).
bool isMessage(std::string_view reply);
// Elements of an array or push reply.
bool elementsOf(std::string_view reply, std::vector<std::string_view>* elements);

}  // namespace slotgate::state
