#include <catch2/catch.hpp>

#include <string_view>
#include <vector>

#include "proxy/command/block_timeout.h"

using slotgate::command::blockTimeoutMs;
using slotgate::command::kBlocksForever;

namespace {
uint64_t of(std::vector<std::string_view> argv) { return blockTimeoutMs(argv); }
}  // namespace

TEST_CASE("blocking commands: the timeout is the last argument, in seconds") {
  CHECK(of({"BLPOP", "a", "b", "5"}) == 5000);
  CHECK(of({"brpop", "a", "0.25"}) == 250);
  CHECK(of({"BZPOPMIN", "z", "1.0001"}) == 1001);  // a fraction of a ms rounds up
  CHECK(of({"BRPOPLPUSH", "s", "d", "2"}) == 2000);
  CHECK(of({"BLMOVE", "s", "d", "LEFT", "RIGHT", "0.5"}) == 500);
  CHECK(of({"BZPOPMAX", "z", "1e1"}) == 10000);
}

TEST_CASE("blocking commands: timeout 0 blocks forever") {
  CHECK(of({"BLPOP", "a", "0"}) == kBlocksForever);
  CHECK(of({"BLMPOP", "0", "1", "k", "LEFT"}) == kBlocksForever);
  CHECK(of({"XREAD", "BLOCK", "0", "STREAMS", "s", "$"}) == kBlocksForever);
}

TEST_CASE("BLMPOP and BZMPOP take the timeout first") {
  CHECK(of({"BLMPOP", "3", "2", "a", "b", "LEFT", "COUNT", "9"}) == 3000);
  CHECK(of({"bzmpop", "0.1", "1", "z", "MIN"}) == 100);
}

TEST_CASE("XREAD and XREADGROUP: BLOCK milliseconds, found among the options") {
  CHECK(of({"XREAD", "COUNT", "10", "BLOCK", "1500", "STREAMS", "s", "$"}) == 1500);
  CHECK(of({"XREAD", "STREAMS", "block", "0"}) == 0);  // a stream named "block" is not the option
  CHECK(of({"XREAD", "COUNT", "1", "STREAMS", "s", "0"}) == 0);
  CHECK(of({"XREADGROUP", "GROUP", "block", "count", "BLOCK", "200", "NOACK", "STREAMS", "s", ">"}) == 200);
  CHECK(of({"XREADGROUP", "GROUP", "g", "c", "STREAMS", "block", ">"}) == 0);
}

TEST_CASE("malformed timeouts: 0 (the node answers an error at once)") {
  CHECK(of({"BLPOP", "a", "-1"}) == 0);
  CHECK(of({"BLPOP", "a", "soon"}) == 0);
  CHECK(of({"BLPOP", "a", "1x"}) == 0);
  CHECK(of({"BLPOP", "a", "inf"}) == 0);
  CHECK(of({"XREAD", "BLOCK", "-5", "STREAMS", "s", "$"}) == 0);
  CHECK(of({"XREAD", "BLOCK"}) == 0);
  CHECK(of({"BLPOP"}) == 0);
}

TEST_CASE("huge timeouts saturate below forever") {
  CHECK(of({"BLPOP", "a", "1e300"}) == kBlocksForever - 1);
  CHECK(of({"XREAD", "BLOCK", "9223372036854775807", "STREAMS", "s", "$"}) == 9223372036854775807ull);
}

TEST_CASE("a learned blocking command may block forever") {
  CHECK(of({"MODULE.BLOCKINGTHING", "k", "1"}) == kBlocksForever);
}
