// libFuzzer target: the client request parser (multibulk and inline), fed in pieces the way a
// socket delivers them. Checks that a request resumed across reads parses exactly as in one read,
// and that every argument it reports lies inside the bytes it consumed.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/resp/request_parser.h"

namespace {

using slotgate::resp::ParseLimits;
using slotgate::resp::ParseStatus;
using slotgate::resp::RequestParser;

#define FUZZ_CHECK(cond)           \
  do {                             \
    if (!(cond)) __builtin_trap(); \
  } while (0)

struct Outcome {
  std::vector<std::string> commands;  // each as its arguments joined with '\0' separators
  bool error = false;
  std::string error_text;
};

// Parses `input`, offering at most `chunk` new bytes per call (0: everything at once).
Outcome run(std::string_view input, ParseLimits limits, size_t chunk) {
  Outcome out;
  RequestParser parser(limits);
  size_t start = 0;      // first unconsumed byte
  size_t available = 0;  // bytes "received" so far
  while (start < input.size()) {
    available = chunk == 0 ? input.size() : std::min(input.size(), std::max(available, start) + chunk);
    std::string_view data = input.substr(start, available - start);
    ParseStatus status = parser.parse(data);
    if (status == ParseStatus::kIncomplete) {
      if (available == input.size()) break;
      continue;
    }
    if (status == ParseStatus::kError) {
      FUZZ_CHECK(!parser.error().empty());
      out.error = true;
      out.error_text = parser.error();
      break;
    }
    size_t consumed = parser.consumed();
    FUZZ_CHECK(consumed > 0 && consumed <= data.size());
    if (status == ParseStatus::kCommand) {
      std::string joined;
      if (parser.isInline()) {
        FUZZ_CHECK(!parser.inlineArgs().empty());
        for (const std::string& arg : parser.inlineArgs()) joined += arg + '\0';
      } else {
        FUZZ_CHECK(!parser.args().empty());
        for (const auto& ref : parser.args()) {
          FUZZ_CHECK(size_t{ref.offset} + ref.length <= consumed);
          FUZZ_CHECK(ref.length <= limits.max_bulk_len);
          joined.append(data.substr(ref.offset, ref.length));
          joined += '\0';
        }
        FUZZ_CHECK(parser.args().size() <= limits.max_args);
      }
      out.commands.push_back(std::move(joined));
    }
    start += consumed;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // The first byte picks small limits (to reach every limit check), the second the read size.
  ParseLimits limits;
  if (data[0] & 1) limits.max_bulk_len = 1 + (data[0] >> 1);
  if (data[0] & 2) limits.max_inline_len = 1 + (data[0] >> 2);
  if (data[0] & 4) limits.max_args = 1 + (data[0] >> 3);
  size_t chunk = 1 + data[1] % 17;
  std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);
  Outcome whole = run(input, limits, 0);
  Outcome pieces = run(input, limits, chunk);
  // Whatever both parsed is the same commands.
  size_t common = std::min(whole.commands.size(), pieces.commands.size());
  for (size_t i = 0; i < common; ++i) FUZZ_CHECK(whole.commands[i] == pieces.commands[i]);
  // Like Redis, the "too big" checks apply while no newline has arrived, so they depend on how
  // the bytes were split. Any other outcome must not.
  if (!pieces.error_text.starts_with("too big")) {
    FUZZ_CHECK(whole.commands == pieces.commands);
    FUZZ_CHECK(whole.error == pieces.error);
    FUZZ_CHECK(whole.error_text == pieces.error_text);
  }
  return 0;
}
