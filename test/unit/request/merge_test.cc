#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "proxy/command/command_table.h"
#include "proxy/request/merge.h"
#include "proxy/resp/writer.h"

using slotgate::request::ArrayLayout;
using slotgate::request::merge;
using slotgate::request::Merge;

namespace {

std::string integer(int64_t v) {
  std::string out;
  slotgate::resp::appendInteger(out, v);
  return out;
}

std::string bulks(const std::vector<std::string>& items) {
  std::string out;
  slotgate::resp::appendArrayHeader(out, items.size());
  for (const auto& item : items) {
    if (item == "<nil>") {
      slotgate::resp::appendNullBulk(out);
    } else {
      slotgate::resp::appendBulk(out, item);
    }
  }
  return out;
}

std::mt19937 rng(7);

}  // namespace

TEST_CASE("merge kinds come from the command table's response tips", "[merge]") {
  using slotgate::command::findCommand;
  using slotgate::command::findSubcommand;
  CHECK(findCommand("mget")->merge == Merge::kArrayByIndex);
  CHECK(findCommand("mset")->merge == Merge::kAllSucceeded);
  for (auto name : {"del", "unlink", "exists", "touch"}) CHECK(findCommand(name)->merge == Merge::kSum);
  CHECK(findCommand("dbsize")->merge == Merge::kSum);
  CHECK(findCommand("keys")->merge == Merge::kConcat);
  CHECK(findCommand("flushall")->merge == Merge::kAllSucceeded);
  CHECK(findCommand("randomkey")->merge == Merge::kRandomNonNull);
  CHECK(findCommand("info")->merge == Merge::kInfo);
  const auto& script = *findCommand("script");
  CHECK(findSubcommand(script, "exists")->merge == Merge::kLogicalAnd);
  CHECK(findSubcommand(script, "load")->merge == Merge::kAllSucceeded);
  CHECK(findSubcommand(script, "kill")->merge == Merge::kKillScript);
}

TEST_CASE("MGET parts go back to their keys' places", "[merge]") {
  // Keys k0..k5; part 0 had k0, k3, k4; part 1 had k1, k5; part 2 had k2.
  ArrayLayout layout{6, {{0, 3, 4}, {1, 5}, {2}}};
  std::vector<std::string> parts = {bulks({"v0", "<nil>", "v4"}), bulks({"v1", "v5"}), bulks({"v2"})};
  CHECK(merge(Merge::kArrayByIndex, parts, &layout, &rng) == bulks({"v0", "v1", "v2", "<nil>", "v4", "v5"}));
  // Binary values with CRLF inside survive.
  ArrayLayout two{2, {{1}, {0}}};
  std::vector<std::string> binary = {bulks({std::string("a\r\nb\0c", 6)}), bulks({"x"})};
  CHECK(merge(Merge::kArrayByIndex, binary, &two, &rng) == bulks({"x", std::string("a\r\nb\0c", 6)}));
  // A part with the wrong number of elements is an error, not a misplaced value.
  std::vector<std::string> long_part = {bulks({"v0", "extra"}), bulks({"v1"})};
  CHECK(merge(Merge::kArrayByIndex, long_part, &two, &rng).rfind("-ERR slotgate could not merge", 0) == 0);
  std::vector<std::string> not_array = {"+OK\r\n", bulks({"v1"})};
  CHECK(merge(Merge::kArrayByIndex, not_array, &two, &rng).rfind("-ERR", 0) == 0);
}

TEST_CASE("integer merges", "[merge]") {
  std::vector<std::string> parts = {integer(3), integer(0), integer(5)};
  CHECK(merge(Merge::kSum, parts, nullptr, &rng) == ":8\r\n");
  CHECK(merge(Merge::kMin, parts, nullptr, &rng) == ":0\r\n");
  CHECK(merge(Merge::kMax, parts, nullptr, &rng) == ":5\r\n");
  std::vector<std::string> bad = {integer(1), "+OK\r\n"};
  CHECK(merge(Merge::kSum, bad, nullptr, &rng).rfind("-ERR", 0) == 0);
}

TEST_CASE("logical merges are element-wise", "[merge]") {
  std::string a = "*3\r\n:1\r\n:1\r\n:0\r\n", b = "*3\r\n:1\r\n:0\r\n:0\r\n";
  std::vector<std::string> parts = {a, b};
  CHECK(merge(Merge::kLogicalAnd, parts, nullptr, &rng) == "*3\r\n:1\r\n:0\r\n:0\r\n");
  CHECK(merge(Merge::kLogicalOr, parts, nullptr, &rng) == "*3\r\n:1\r\n:1\r\n:0\r\n");
  std::vector<std::string> uneven = {a, "*1\r\n:1\r\n"};
  CHECK(merge(Merge::kLogicalAnd, uneven, nullptr, &rng).rfind("-ERR", 0) == 0);
}

TEST_CASE("concatenation, all-succeeded, one-succeeded", "[merge]") {
  std::vector<std::string> parts = {bulks({"a", "b"}), bulks({}), bulks({"c"})};
  CHECK(merge(Merge::kConcat, parts, nullptr, &rng) == bulks({"a", "b", "c"}));
  std::vector<std::string> oks = {"+OK\r\n", "+OK\r\n"};
  CHECK(merge(Merge::kAllSucceeded, oks, nullptr, &rng) == "+OK\r\n");
  std::vector<std::string> mixed = {"-NOTBUSY No scripts in execution right now.\r\n", "+OK\r\n"};
  CHECK(merge(Merge::kOneSucceeded, mixed, nullptr, &rng) == "+OK\r\n");
  std::vector<std::string> errors = {"-NOTBUSY a\r\n", "-NOTBUSY b\r\n"};
  CHECK(merge(Merge::kOneSucceeded, errors, nullptr, &rng) == "-NOTBUSY a\r\n");
}

TEST_CASE("SCRIPT KILL and FUNCTION KILL answer as the one server that ran the busy script", "[merge]") {
  const std::string ok = "+OK\r\n";
  const std::string idle = "-NOTBUSY No scripts in execution right now.\r\n";
  const std::string unkillable = "-UNKILLABLE Sorry the script already executed write commands\r\n";
  const std::string other_kind = "-BUSY Redis is busy running a script.\r\n";
  const std::string lost = "-ERR slotgate: node 127.0.0.1:1 unreachable\r\n";
  auto kill = [](std::vector<std::string> parts) { return merge(Merge::kKillScript, parts, nullptr, &rng); };
  CHECK(kill({idle, ok, idle}) == ok);
  CHECK(kill({unkillable, ok}) == ok);
  CHECK(kill({idle, unkillable, idle}) == unkillable);
  CHECK(kill({other_kind, unkillable}) == unkillable);
  CHECK(kill({idle, other_kind}) == other_kind);
  CHECK(kill({idle, lost, idle}) == lost);
  CHECK(kill({idle, idle, idle}) == idle);
  CHECK(slotgate::request::toleratesErrors(Merge::kKillScript));
  CHECK_FALSE(slotgate::request::toleratesErrors(Merge::kSum));
}

TEST_CASE("RANDOMKEY picks among non-nil parts, nil when all are", "[merge]") {
  std::vector<std::string> parts = {"$-1\r\n", "$1\r\na\r\n", "$-1\r\n", "$1\r\nb\r\n"};
  bool saw_a = false, saw_b = false;
  for (int i = 0; i < 200; ++i) {
    std::string got = merge(Merge::kRandomNonNull, parts, nullptr, &rng);
    REQUIRE((got == parts[1] || got == parts[3]));
    saw_a |= got == parts[1];
    saw_b |= got == parts[3];
  }
  CHECK((saw_a && saw_b));
  std::vector<std::string> empty = {"$-1\r\n", "$-1\r\n"};
  CHECK(merge(Merge::kRandomNonNull, empty, nullptr, &rng) == "$-1\r\n");
}

TEST_CASE("PUBSUB replies merge as one server's", "[merge]") {
  using slotgate::command::findCommand;
  using slotgate::command::findSubcommand;
  const auto& pubsub = *findCommand("pubsub");
  REQUIRE(findSubcommand(pubsub, "channels")->merge == Merge::kUnion);
  REQUIRE(findSubcommand(pubsub, "numsub")->merge == Merge::kSumByName);
  REQUIRE(findSubcommand(pubsub, "numpat")->merge == Merge::kSum);

  // A channel subscribed on two nodes is listed once.
  std::vector<std::string> channels{bulks({"a", "b"}), bulks({"b", "c"}), bulks({})};
  CHECK(merge(Merge::kUnion, channels, nullptr, nullptr) == bulks({"a", "b", "c"}));

  // NUMSUB: counts per channel add up, in the order asked.
  auto numsub = [](std::vector<std::pair<std::string, int64_t>> pairs) {
    std::string out;
    slotgate::resp::appendArrayHeader(out, pairs.size() * 2);
    for (auto& [name, count] : pairs) {
      slotgate::resp::appendBulk(out, name);
      slotgate::resp::appendInteger(out, count);
    }
    return out;
  };
  std::vector<std::string> parts{numsub({{"x", 1}, {"y", 0}}), numsub({{"x", 2}, {"y", 3}})};
  CHECK(merge(Merge::kSumByName, parts, nullptr, nullptr) == numsub({{"x", 3}, {"y", 3}}));
  std::vector<std::string> odd{bulks({"x"})};
  CHECK(merge(Merge::kSumByName, odd, nullptr, nullptr).starts_with("-ERR"));
}

TEST_CASE("CONFIG GET never shows the nodes' credentials", "[merge]") {
  std::string resp2 = bulks({"requirepass", "secret", "maxmemory", "0", "masterauth", "s2"});
  CHECK(slotgate::request::hideConfigSecrets(resp2) ==
        bulks({"requirepass", "", "maxmemory", "0", "masterauth", ""}));
  // RESP3 maps count pairs.
  std::string resp3 = "%2\r\n$10\r\nmasteruser\r\n$2\r\nmu\r\n$4\r\nport\r\n$4\r\n7000\r\n";
  CHECK(slotgate::request::hideConfigSecrets(resp3) ==
        "%2\r\n$10\r\nmasteruser\r\n$0\r\n\r\n$4\r\nport\r\n$4\r\n7000\r\n");
  CHECK(slotgate::request::hideConfigSecrets("-ERR x\r\n") == "-ERR x\r\n");
}
