#include "proxy/command/key_extractor.h"

#include <charconv>

namespace slotgate::command {
namespace {

// Redis's string2ll: optional '-', then "0" alone or a digit 1-9 followed by digits; no '+', no
// spaces, no leading zeros ("01" and "-0" are not integers to Redis), no overflow.
bool parseKeyCount(std::string_view text, int64_t& value) {
  if (text.empty() || text.size() > 20) return false;
  if (text == "0") {
    value = 0;
    return true;
  }
  size_t digits = text[0] == '-' ? 1 : 0;
  if (digits == text.size() || text[digits] < '1' || text[digits] > '9') return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

bool equalsIgnoreCase(std::string_view arg, std::string_view upper_keyword) {
  if (arg.size() != upper_keyword.size()) return false;
  for (size_t i = 0; i < arg.size(); ++i) {
    char c = arg[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c != upper_keyword[i]) return false;
  }
  return true;
}

// Keyword begin search. Returns the position after the keyword, or 0 if it is not found.
// Mirrors Redis's bounds on purpose: a positive startfrom searches forward and never looks at the
// last argument; a negative one searches backward from argc+startfrom and never looks at argv[1].
int64_t findKeyword(const KeySpec& ks, std::span<const std::string_view> argv) {
  if (ks.keyword == nullptr) return 0;
  const int64_t argc = static_cast<int64_t>(argv.size());
  const int64_t start = ks.startfrom > 0 ? ks.startfrom : argc + ks.startfrom;
  const int64_t end = ks.startfrom > 0 ? argc - 1 : 1;
  const int64_t dir = start <= end ? 1 : -1;
  for (int64_t i = start; i != end; i += dir) {
    if (i >= argc || i < 1) break;
    if (equalsIgnoreCase(argv[static_cast<size_t>(i)], ks.keyword)) return i + 1;
  }
  return 0;
}

KeyError fail(std::vector<uint32_t>& positions, KeyError error) {
  positions.clear();
  return error;
}

}  // namespace

KeyError extractKeys(const CommandSpec& spec, std::span<const std::string_view> argv,
                     std::vector<uint32_t>& positions) {
  positions.clear();
  if (spec.key_specs == nullptr) return KeyError::kNone;
  const int64_t argc = static_cast<int64_t>(argv.size());

  for (const KeySpec& ks : std::span(spec.key_specs, spec.key_spec_count)) {
    int64_t first = 0;
    switch (ks.begin) {
      case BeginSearch::kIndex:
        first = ks.index;
        break;
      case BeginSearch::kKeyword:
        first = findKeyword(ks, argv);
        if (first == 0) continue;  // optional keyword absent: no keys from this spec
        break;
      case BeginSearch::kUnknown:
        continue;
    }

    int64_t last = 0;
    int64_t step = 1;
    switch (ks.find) {
      case FindKeys::kRange:
        step = ks.keystep;
        if (ks.lastkey >= 0) {
          last = first + ks.lastkey;
        } else if (ks.limit <= 0) {
          last = argc + ks.lastkey;
        } else {
          // XREAD ... STREAMS k1 k2 id1 id2: the keys are the first 1/limit of what follows.
          last = first + (argc - first) / ks.limit + ks.lastkey;
        }
        break;
      case FindKeys::kKeynum: {
        step = ks.keystep;
        const int64_t count_at = first + ks.keynumidx;
        // No numkeys argument at all: an arity error Redis reports itself.
        if (count_at < 1 || count_at >= argc) continue;
        int64_t numkeys = 0;
        if (!parseKeyCount(argv[static_cast<size_t>(count_at)], numkeys) || numkeys < 0) {
          return fail(positions, KeyError::kBadKeyCount);
        }
        first += ks.firstkey;
        if (numkeys == 0) continue;
        if (numkeys > argc - first) return fail(positions, KeyError::kTooManyKeys);
        last = first + numkeys - 1;
        break;
      }
      case FindKeys::kUnknown:
        continue;
    }

    // Out of bounds means a malformed command (Redis answers it with an arity/syntax error).
    if (step < 1 || first < 1 || first >= argc || last >= argc || last < first) continue;
    for (int64_t i = first; i <= last; i += step) positions.push_back(static_cast<uint32_t>(i));
  }
  return KeyError::kNone;
}

}  // namespace slotgate::command
