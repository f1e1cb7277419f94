#include "proxy/state/keyspace_channels.h"

#include <algorithm>
#include <array>
#include <vector>

#include "proxy/state/pubsub_reply.h"

namespace slotgate::state {
namespace {

constexpr std::array<std::string_view, 2> kPrefixes = {"__keyspace@", "__keyevent@"};

// Matches s[0] against the class at the start of `p` (just after '['); leaves `p` after its ']'.
bool matchClass(std::string_view& p, char c) {
  bool negate = !p.empty() && p[0] == '^';
  if (negate) p.remove_prefix(1);
  bool match = false;
  while (!p.empty() && p[0] != ']') {
    if (p[0] == '\\' && p.size() >= 2) {
      p.remove_prefix(1);
      match |= p[0] == c;
      p.remove_prefix(1);
    } else if (p.size() >= 3 && p[1] == '-') {
      char lo = std::min(p[0], p[2]), hi = std::max(p[0], p[2]);
      match |= c >= lo && c <= hi;
      p.remove_prefix(3);
    } else {
      match |= p[0] == c;
      p.remove_prefix(1);
    }
  }
  if (!p.empty()) p.remove_prefix(1);  // ']'
  return match != negate;
}

// Whether some string that starts with `s` matches `p`: once `s` runs out, whatever is left of
// the pattern can still be met by what follows (a conservative yes).
bool mayMatchWithPrefix(std::string_view p, std::string_view s) {
  while (!p.empty()) {
    if (s.empty()) return true;
    switch (p[0]) {
      case '*': {
        std::string_view rest = p.substr(1);
        for (size_t i = 0; i <= s.size(); ++i) {
          if (mayMatchWithPrefix(rest, s.substr(i))) return true;
        }
        return false;
      }
      case '?':
        break;
      case '[':
        p.remove_prefix(1);
        if (!matchClass(p, s[0])) return false;
        s.remove_prefix(1);
        continue;
      case '\\':
        if (p.size() >= 2) p.remove_prefix(1);
        [[fallthrough]];
      default:
        if (p[0] != s[0]) return false;
    }
    p.remove_prefix(1);
    s.remove_prefix(1);
  }
  return s.empty();
}

}  // namespace

bool isKeyspaceChannel(std::string_view channel) {
  for (std::string_view prefix : kPrefixes) {
    if (channel.starts_with(prefix)) return true;
  }
  return false;
}

bool patternMayMatchKeyspace(std::string_view pattern) {
  for (std::string_view prefix : kPrefixes) {
    if (mayMatchWithPrefix(pattern, prefix)) return true;
  }
  return false;
}

std::string_view messageChannel(std::string_view reply) {
  if (!isMessage(reply)) return {};
  std::vector<std::string_view> elements;
  if (!elementsOf(reply, &elements) || elements.size() < 3) return {};
  std::string_view kind = bulkText(elements[0]);
  if (kind == "pmessage" && elements.size() == 4) return bulkText(elements[2]);
  return bulkText(elements[1]);
}

}  // namespace slotgate::state
