#include "proxy/admin/http_request.h"

#include <strings.h>

namespace slotgate::admin {
namespace {

HttpParse error(int status, std::string why) {
  HttpParse p;
  p.status = HttpParse::Status::kError;
  p.error_status = status;
  p.error = std::move(why);
  return p;
}

// RFC 9110 token characters (method and header names).
bool isTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool isToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!isTokenChar(c)) return false;
  }
  return true;
}

// Visible ASCII only in a request target (no spaces, no controls, no bytes >= 0x7f).
bool isTargetChar(char c) { return c > 0x20 && c < 0x7f; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

HttpParse parseHttpRequest(std::string_view data, HttpRequest* out) {
  // Tolerate the empty lines some clients send between requests (RFC 9112 2.2).
  size_t start = 0;
  while (start + 1 < data.size() && data[start] == '\r' && data[start + 1] == '\n') start += 2;
  size_t line_end = data.find("\r\n", start);
  if (line_end == std::string_view::npos) {
    if (data.size() - start > kMaxRequestLine) return error(414, "request line too long");
    if (data.find('\n', start) != std::string_view::npos) return error(400, "bare LF in request line");
    return {};
  }
  if (line_end - start > kMaxRequestLine) return error(414, "request line too long");
  std::string_view line = data.substr(start, line_end - start);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return error(400, "malformed request line");
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!isToken(method)) return error(400, "malformed method");
  if (target.empty() || target[0] != '/') return error(400, "request target must be an absolute path");
  for (char c : target) {
    if (!isTargetChar(c)) return error(400, "invalid character in request target");
  }
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' || version[5] < '0' ||
      version[5] > '9' || version[7] < '0' || version[7] > '9') {
    return error(400, "malformed HTTP version");
  }
  if (version[5] != '1') return error(505, "only HTTP/1.x is served");

  // Headers, up to the empty line.
  size_t pos = line_end + 2;
  bool has_host = false;
  while (true) {
    size_t end = data.find("\r\n", pos);
    if (end == std::string_view::npos) {
      if (data.size() > kMaxHeaderBytes) return error(431, "request headers too large");
      return {};
    }
    if (end + 2 > kMaxHeaderBytes) return error(431, "request headers too large");
    std::string_view header = data.substr(pos, end - pos);
    pos = end + 2;
    if (header.empty()) break;
    if (header.find('\n') != std::string_view::npos) return error(400, "bare LF in header");
    if (header[0] == ' ' || header[0] == '\t') return error(400, "obsolete header folding");
    size_t colon = header.find(':');
    if (colon == std::string_view::npos || !isToken(header.substr(0, colon))) {
      return error(400, "malformed header");
    }
    std::string_view name = header.substr(0, colon);
    std::string_view value = trim(header.substr(colon + 1));
    for (char c : value) {
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
        return error(400, "invalid character in header value");
      }
    }
    auto is = [&](std::string_view n) {
      return name.size() == n.size() && strncasecmp(name.data(), n.data(), n.size()) == 0;
    };
    if (is("host")) has_host = true;
    if (is("transfer-encoding")) return error(501, "request bodies are not accepted");
    if (is("content-length") && value != "0") return error(501, "request bodies are not accepted");
  }
  if (version[7] != '0' && !has_host) return error(400, "HTTP/1.1 request without Host");

  out->method = std::string(method);
  size_t question = target.find('?');
  out->path = std::string(target.substr(0, question));
  out->query = question == std::string_view::npos ? "" : std::string(target.substr(question + 1));
  out->minor_version = version[7] - '0';
  HttpParse done;
  done.status = HttpParse::Status::kComplete;
  done.consumed = pos;
  return done;
}

}  // namespace slotgate::admin
