// RESP2 encoders for the replies and commands the proxy writes itself.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace slotgate::resp {

void appendSimple(std::string& out, std::string_view status);  // +status
void appendError(std::string& out, std::string_view message);  // -message (CR/LF replaced)
void appendInteger(std::string& out, int64_t value);
void appendBulk(std::string& out, std::string_view bytes);
void appendNullBulk(std::string& out);
void appendArrayHeader(std::string& out, size_t count);

// Replies whose RESP3 form differs: `proto` is the client's protocol (2 or 3).
void appendNull(std::string& out, int proto);                             // $-1 / _
void appendNullArray(std::string& out, int proto);                        // *-1 / _
void appendMapHeader(std::string& out, size_t pairs, int proto);          // *2n / %n
void appendPushHeader(std::string& out, size_t count, int proto);         // *n / >n
void appendVerbatim(std::string& out, std::string_view text, int proto);  // $ / =txt:

// "-ERR ...\r\n" from one of the patterns in errors.h.
template <typename... Args>
std::string errorReply(fmt::format_string<Args...> pattern, Args&&... args) {
  std::string out;
  appendError(out, fmt::format(pattern, std::forward<Args>(args)...));
  return out;
}

// Encodes argv as a RESP multibulk command; `offsets` (if given) receives each argument's
// position and length inside `out`, relative to where the command starts.
void appendCommand(std::string& out, const std::vector<std::string_view>& argv,
                   std::vector<std::pair<uint32_t, uint32_t>>* offsets = nullptr);

}  // namespace slotgate::resp
