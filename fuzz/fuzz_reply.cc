// libFuzzer target: what the proxy reads from nodes. The reply scanner (fed in pieces and at once,
// which must agree), the value decoder, the array reader and the redirect parser.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "proxy/cluster/redirect.h"
#include "proxy/resp/array_reader.h"
#include "proxy/resp/reply_scanner.h"
#include "proxy/resp/value.h"

namespace {

using slotgate::resp::ReplyScanner;

#define FUZZ_CHECK(cond)           \
  do {                             \
    if (!(cond)) __builtin_trap(); \
  } while (0)

// Scans replies back to back, offering `chunk` more bytes per call (0: all); returns their lengths
// and whether the stream ended in an error.
std::vector<size_t> scanAll(std::string_view input, size_t chunk, bool* error) {
  std::vector<size_t> lengths;
  size_t start = 0;
  *error = false;
  while (start < input.size()) {
    ReplyScanner scanner;
    size_t available = chunk == 0 ? input.size() : std::min(input.size(), start + chunk);
    ReplyScanner::Status status;
    while (true) {
      status = scanner.scan(input.substr(start, available - start));
      if (status != ReplyScanner::Status::kIncomplete || available == input.size()) break;
      available = chunk == 0 ? input.size() : std::min(input.size(), available + chunk);
    }
    if (status == ReplyScanner::Status::kIncomplete) break;
    if (status == ReplyScanner::Status::kError) {
      *error = true;
      break;
    }
    size_t length = scanner.length();
    FUZZ_CHECK(length > 0 && start + length <= input.size());
    lengths.push_back(length);
    std::string_view reply = input.substr(start, length);
    (void)slotgate::resp::decodeValue(reply);
    std::vector<std::string_view> elements;
    if (slotgate::resp::arrayElements(reply, &elements)) {
      for (std::string_view e : elements) {
        FUZZ_CHECK(e.data() >= reply.data() && e.data() + e.size() <= reply.data() + reply.size());
      }
    }
    if (reply.front() == '-' && reply.size() >= 3) {
      (void)slotgate::cluster::parseRedirect(reply.substr(1, reply.size() - 3));
    }
    start += length;
  }
  return lengths;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t chunk = 1 + data[0] % 13;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  bool whole_error = false, pieces_error = false;
  std::vector<size_t> whole = scanAll(input, 0, &whole_error);
  std::vector<size_t> pieces = scanAll(input, chunk, &pieces_error);
  FUZZ_CHECK(whole == pieces);
  FUZZ_CHECK(whole_error == pieces_error);
  // The whole input as one value, too (decodeValue must reject what is not exactly one reply).
  (void)slotgate::resp::decodeValue(input);
  (void)slotgate::cluster::parseRedirect(input);
  return 0;
}
