// Value parsing and formatting for settings, and the address checks (config_text.h).
#include "config/config_text.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <system_error>
#include <vector>

#include "common/ascii.h"
#include "config/config_loader.h"

namespace slotgate::config {
namespace detail {
namespace {

constexpr size_t kMaxShownValue = 60;  // longer values are cut in messages

struct SizeUnit {
  std::string_view name;
  uint64_t multiplier;
};
// redis.conf's memory units, all 1024-based here (redis.conf reads a bare "k" as 1000).
constexpr std::array<SizeUnit, 8> kSizeUnits{{
    {"", 1},
    {"b", 1},
    {"k", kKiB},
    {"kb", kKiB},
    {"m", kMiB},
    {"mb", kMiB},
    {"g", kGiB},
    {"gb", kGiB},
}};

bool isDigit(char c) { return c >= '0' && c <= '9'; }

bool isHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c) || c == '-' || c == '.' || c == '_' ||
         c == ':' || c == '%';
}

}  // namespace

std::optional<uint64_t> parseUnsigned(std::string_view text) {
  if (text.empty() || !isDigit(text.front())) return std::nullopt;
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string fileProblem(const std::string& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) return "cannot read " + path + ": is a directory";
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) return "cannot read " + path + ": " + std::strerror(errno);
  std::fclose(file);
  return {};
}

std::string directoryProblem(const std::string& path) {
  DIR* dir = opendir(path.c_str());
  if (!dir) return "cannot read the directory " + path + ": " + std::strerror(errno);
  closedir(dir);
  return {};
}

std::optional<unsigned> parseFileMode(std::string_view text) {
  if (text.starts_with("0o") || text.starts_with("0O")) text.remove_prefix(2);
  if (text.empty() || text.size() > 4) return std::nullopt;
  unsigned mode = 0;
  for (char c : text) {
    if (c < '0' || c > '7') return std::nullopt;
    mode = mode * 8 + static_cast<unsigned>(c - '0');
  }
  if (mode > 0777) return std::nullopt;
  return mode;
}

std::string formatFileMode(unsigned mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", mode & 07777u);
  return text;
}

std::vector<std::string> unixSocketPathProblems(const std::string& path) {
  std::vector<std::string> problems;
  // sockaddr_un's sun_path holds 108 bytes with the terminating NUL.
  constexpr size_t kMaxPath = 107;
  if (path.size() > kMaxPath) {
    problems.push_back("path is " + std::to_string(path.size()) +
                       " bytes long; a unix socket path may have at most " + std::to_string(kMaxPath));
  }
  if (path.find('\0') != std::string::npos) problems.push_back("path contains a NUL byte");
  if (!path.empty() && path.back() == '/') problems.push_back("path names a directory: " + quote(path));
  return problems;
}

std::optional<bool> parseBool(std::string_view text) {
  std::string lower = common::toLower(text);
  if (common::isOneOf(lower, {"true", "yes", "on"})) return true;
  if (common::isOneOf(lower, {"false", "no", "off"})) return false;
  return std::nullopt;
}

std::optional<uint64_t> parseSize(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && isDigit(text[digits])) ++digits;
  std::optional<uint64_t> number = parseUnsigned(text.substr(0, digits));
  if (!number) return std::nullopt;
  std::string unit = common::toLower(text.substr(digits));
  auto unit_it =
      std::find_if(kSizeUnits.begin(), kSizeUnits.end(), [&](const SizeUnit& u) { return u.name == unit; });
  if (unit_it == kSizeUnits.end()) return std::nullopt;
  uint64_t multiplier = unit_it->multiplier;
  if (*number > UINT64_MAX / multiplier) return std::nullopt;
  return *number * multiplier;
}

std::string formatSize(uint64_t bytes) {
  if (bytes != 0 && bytes % kGiB == 0) return std::to_string(bytes / kGiB) + "gb";
  if (bytes != 0 && bytes % kMiB == 0) return std::to_string(bytes / kMiB) + "mb";
  if (bytes != 0 && bytes % kKiB == 0) return std::to_string(bytes / kKiB) + "kb";
  return std::to_string(bytes);
}

std::string formatAddress(const Address& address) {
  bool v6 = address.host.find(':') != std::string::npos;
  return (v6 ? "[" + address.host + "]" : address.host) + ":" + std::to_string(address.port);
}

std::string quote(std::string_view text) {
  if (text.size() > kMaxShownValue) return "\"" + std::string(text.substr(0, kMaxShownValue)) + "...\"";
  return "\"" + std::string(text) + "\"";
}

bool isIpv6(std::string_view host) {
  std::string address(host.substr(0, host.find('%')));
  in6_addr parsed;
  return inet_pton(AF_INET6, address.c_str(), &parsed) == 1;
}

bool validAddress(const Address& address) { return !address.host.empty() && address.port != 0; }

size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace detail

std::optional<Address> parseAddress(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    size_t close = text.find(']');
    if (close == std::string_view::npos || text.substr(close + 1, 1) != ":") return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    if (!detail::isIpv6(host)) return std::nullopt;  // brackets are for IPv6 only
  } else {
    // Redis prints "2001:db8::1:7000": the port is whatever follows the last ':'.
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos && !detail::isIpv6(host)) return std::nullopt;
  }
  if (host.empty() || !std::all_of(host.begin(), host.end(), detail::isHostChar)) return std::nullopt;
  std::optional<uint64_t> number = port.size() <= 5 ? detail::parseUnsigned(port) : std::nullopt;
  if (!number || *number < 1 || *number > 65535) return std::nullopt;
  return Address{std::string(host), static_cast<uint16_t>(*number)};
}

bool isLoopbackHost(const std::string& host) {
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  if (inet_pton(AF_INET6, host.substr(0, host.find('%')).c_str(), &v6) != 1) return false;
  if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
  return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

}  // namespace slotgate::config
