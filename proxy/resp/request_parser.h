// Incremental parser for client requests: RESP multibulk (`*N\r\n$len\r\narg\r\n...`) and inline
// commands (`SET a b\r\n`, as telnet sends), with Redis's limits and Redis's error texts.
//
// It never copies or allocates for multibulk requests: it reports where each argument lies in the
// caller's bytes, so those bytes can be forwarded to a node exactly as received. Call parse() with
// the unconsumed bytes (the start of the current request, plus whatever arrived since); a request
// that arrives in pieces resumes where the last call stopped, so a large value is scanned once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace slotgate::resp {

struct ParseLimits {
  size_t max_bulk_len = 512ull * 1024 * 1024;
  size_t max_inline_len = 64 * 1024;
  size_t max_args = 1024 * 1024;
};

enum class ParseStatus : uint8_t {
  kIncomplete,  // need more bytes
  kCommand,     // one request of consumed() bytes
  kEmpty,       // consumed() bytes of nothing (an empty line, `*0`): skip them
  kError,       // protocol error: error() says which; the client must be closed
};

struct ArgRef {
  uint32_t offset;  // from the start of the request
  uint32_t length;
};

class RequestParser {
 public:
  explicit RequestParser(ParseLimits limits = {}) : limits_(limits) {}

  ParseStatus parse(std::string_view data);

  size_t consumed() const { return consumed_; }
  // kIncomplete: the bytes the request needs at least, when a bulk's length says so (else 0).
  size_t needed() const { return in_request_ && bulk_len_ >= 0 ? pos_ + static_cast<size_t>(bulk_len_) + 2 : 0; }
  bool isInline() const { return inline_; }
  // kCommand, multibulk: where each argument is within the request's bytes.
  const std::vector<ArgRef>& args() const { return args_; }
  // kCommand, inline: the unquoted arguments (they have no RESP encoding to forward).
  const std::vector<std::string>& inlineArgs() const { return inline_args_; }
  // Between requests: gives back the room kept for arguments (an idle client).
  void releaseIfIdle();
  // kError: the detail for "-ERR Protocol error: <detail>".
  const std::string& error() const { return error_; }

 private:
  ParseStatus parseMultibulk(std::string_view data);
  ParseStatus parseInline(std::string_view data);
  ParseStatus fail(std::string message);
  void resetRequest();

  ParseLimits limits_;
  // State of the request being parsed (kept across calls while kIncomplete).
  bool in_request_ = false;
  size_t pos_ = 0;         // scan position within the request
  int64_t expected_ = 0;   // arguments announced by the multibulk header
  int64_t bulk_len_ = -1;  // length of the bulk whose header was read, or -1
  // Results.
  size_t consumed_ = 0;
  bool inline_ = false;
  std::vector<ArgRef> args_;
  std::vector<std::string> inline_args_;
  std::string error_;
};

// Splits an inline command line like Redis's sdssplitargs (quotes, \xHH and \n-style escapes).
// Returns false on unbalanced quotes.
bool splitInlineArgs(std::string_view line, std::vector<std::string>* out);

}  // namespace slotgate::resp
