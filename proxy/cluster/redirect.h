// Parses the cluster's redirection errors: "MOVED <slot> <host>:<port>", "ASK <slot> <host>:<port>"
// (the port follows the last ':'; the host may be empty, meaning the node that answered, or an
// IPv6 address), and "TRYAGAIN ...".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace slotgate::cluster {

struct Redirect {
  enum class Kind : uint8_t { kMoved, kAsk, kTryAgain };
  Kind kind = Kind::kMoved;
  uint16_t slot = 0;
  std::string host;  // empty: the node that sent the redirect
  uint16_t port = 0;
};

// `error` is the error reply's text without the leading '-' and trailing CRLF.
std::optional<Redirect> parseRedirect(std::string_view error);

}  // namespace slotgate::cluster
