#include "proxy/cluster/redirect.h"

#include <charconv>

namespace slotgate::cluster {
namespace {

bool parseNumber(std::string_view text, unsigned max, unsigned* out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size() && *out <= max;
}

}  // namespace

std::optional<Redirect> parseRedirect(std::string_view error) {
  Redirect r;
  if (error.starts_with("TRYAGAIN")) {
    r.kind = Redirect::Kind::kTryAgain;
    return r;
  }
  if (error.starts_with("MOVED ")) {
    r.kind = Redirect::Kind::kMoved;
    error.remove_prefix(6);
  } else if (error.starts_with("ASK ")) {
    r.kind = Redirect::Kind::kAsk;
    error.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  size_t space = error.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  unsigned slot = 0, port = 0;
  if (!parseNumber(error.substr(0, space), 16383, &slot)) return std::nullopt;
  std::string_view address = error.substr(space + 1);
  size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  if (!parseNumber(address.substr(colon + 1), 65535, &port) || port == 0) return std::nullopt;
  std::string_view host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  r.slot = static_cast<uint16_t>(slot);
  r.port = static_cast<uint16_t>(port);
  r.host = std::string(host);
  return r;
}

}  // namespace slotgate::cluster
