// The admin port's HTTP/1.x request reader: just enough of RFC 9112 for GET requests from
// Prometheus, curl and health checkers. Pure (no sockets); every malformed input maps to a status
// code to answer with before closing. A request body is not read (the admin port serves GET and
// HEAD only), so a request announcing one is refused.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace slotgate::admin {

struct HttpRequest {
  std::string method;  // as sent (methods are case-sensitive)
  std::string path;    // without the query string
  std::string query;   // after '?', may be empty
  int minor_version = 1;
};

struct HttpParse {
  enum class Status { kIncomplete, kComplete, kError };
  Status status = Status::kIncomplete;
  int error_status = 0;  // kError: the HTTP status to answer (400, 414, 431, 501, 505)
  std::string error;     // kError: why, for the response body
  size_t consumed = 0;   // kComplete: bytes of the request (line and headers)
};

inline constexpr size_t kMaxRequestLine = 4096;
inline constexpr size_t kMaxHeaderBytes = 16384;  // request line and headers together

// Reads one request head from the start of `data`.
HttpParse parseHttpRequest(std::string_view data, HttpRequest* out);

}  // namespace slotgate::admin
