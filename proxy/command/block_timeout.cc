#include "proxy/command/block_timeout.h"

#include <charconv>
#include <cmath>
#include <string>

#include "common/ascii.h"
#include "proxy/resp/number.h"

namespace slotgate::command {
namespace {

// Seconds as Redis reads them for BLPOP & co: a finite, non-negative decimal; 0 is forever.
uint64_t secondsArg(std::string_view text) {
  double seconds = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(seconds) || seconds < 0) return 0;
  if (seconds == 0) return kBlocksForever;
  double ms = std::ceil(seconds * 1000.0);
  return ms >= 1.8e19 ? kBlocksForever - 1 : static_cast<uint64_t>(ms);
}

// XREAD's BLOCK milliseconds: a non-negative integer; 0 is forever.
uint64_t millisecondsArg(std::string_view text) {
  int64_t ms = 0;
  if (!resp::parseInt(text, &ms) || ms < 0) return 0;
  return ms == 0 ? kBlocksForever : static_cast<uint64_t>(ms);
}

}  // namespace

uint64_t blockTimeoutMs(std::span<const std::string_view> argv) {
  if (argv.size() < 2) return 0;
  std::string name = common::toLower(argv[0]);
  if (common::isOneOf(name, {"blpop", "brpop", "bzpopmin", "bzpopmax", "brpoplpush", "blmove"})) {
    return secondsArg(argv.back());
  }
  if (name == "blmpop" || name == "bzmpop") return secondsArg(argv[1]);
  if (name == "xread" || name == "xreadgroup") {
    // Walk the options (GROUP g c, COUNT n, BLOCK ms, NOACK) up to STREAMS: a group, consumer or
    // count is never mistaken for the BLOCK keyword.
    for (size_t i = 1; i < argv.size(); ++i) {
      std::string word = common::toLower(argv[i]);
      if (word == "streams") break;
      if (word == "block") return i + 1 < argv.size() ? millisecondsArg(argv[i + 1]) : 0;
      if (word == "group") i += 2;
      else if (word == "count") i += 1;
    }
    return 0;  // no BLOCK: it does not block
  }
  return kBlocksForever;  // a learned blocking command: its timeout is not ours to find
}

}  // namespace slotgate::command
