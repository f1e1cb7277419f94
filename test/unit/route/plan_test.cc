#include "proxy/route/plan.h"

#include <catch2/catch.hpp>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/command/classifier.h"

// Slots below are the ones redis-server 7.0.15 gives (CLUSTER KEYSLOT, see test/data/keyslots.txt);
// error texts are the ones it answers (a one-node cluster holding every slot), byte for byte.

namespace slotgate::route {
namespace {

using Kind = Plan::Kind;
using Positions = std::vector<uint32_t>;

constexpr uint16_t kSlotA = 15495;    // "a", "{a}{b}"
constexpr uint16_t kSlotB = 3300;     // "b", "a{b}c"
constexpr uint16_t kSlotFoo = 12182;  // "foo"
constexpr uint16_t kSlotUser = 3443;  // "{user1000}..." ("user1000")

struct Routed {
  std::string error;  // the classifier's rejection, if any
  Positions keys;
  Plan plan;
};

// Classifies and plans like a session does.
Routed route(std::initializer_list<std::string_view> args) {
  std::vector<std::string_view> argv(args);
  command::Classification c;
  c.key_positions = {77};  // stale content must go
  command::classify(argv, &c);
  Routed r;
  r.error = c.error;
  r.keys = c.key_positions;
  if (c.error.empty()) {
    REQUIRE(c.spec != nullptr);
    r.plan = plan(*c.spec, argv, c.key_positions);
  }
  return r;
}

Plan planOf(std::initializer_list<std::string_view> args) {
  Routed r = route(args);
  INFO(r.error);
  REQUIRE(r.error.empty());
  return r.plan;
}

}  // namespace

TEST_CASE("keyed commands go to their key's slot", "[plan]") {
  Plan get = planOf({"GET", "foo"});
  CHECK(get.kind == Kind::kSlot);
  CHECK(get.slot == kSlotFoo);
  CHECK(get.reply.empty());
  Plan set = planOf({"SET", "a", "b"});  // the value is not a key
  CHECK(set.kind == Kind::kSlot);
  CHECK(set.slot == kSlotA);
  CHECK(planOf({"set", "{user1000}.following", "v", "EX", "10"}).slot == kSlotUser);
  CHECK(planOf({"get", "a{b}c"}).slot == kSlotB);
  CHECK(planOf({"RENAME", "{user1000}.a", "{user1000}.b"}).slot == kSlotUser);
  Plan mget = planOf({"MGET", "{a}{b}", "a"});  // two keys, one slot: no split
  CHECK(mget.kind == Kind::kSlot);
  CHECK(mget.slot == kSlotA);
}

TEST_CASE("readonly is set for read commands only", "[plan]") {
  CHECK(planOf({"GET", "k"}).readonly);
  CHECK(planOf({"HGETALL", "k"}).readonly);
  CHECK(planOf({"MGET", "{t}1", "{t}2"}).readonly);
  CHECK_FALSE(planOf({"SET", "k", "v"}).readonly);
  CHECK_FALSE(planOf({"INCR", "k"}).readonly);
  CHECK_FALSE(planOf({"DEL", "k"}).readonly);
  CHECK_FALSE(planOf({"EVAL", "return 1", "1", "k"}).readonly);
}

TEST_CASE("keyless, local and rejected commands", "[plan]") {
  CHECK(planOf({"TIME"}).kind == Kind::kAnyPrimary);
  CHECK(planOf({"EVAL", "return 1", "0"}).kind == Kind::kAnyPrimary);
  CHECK(planOf({"PING"}).kind == Kind::kLocal);
  CHECK(planOf({"ping", "hello"}).kind == Kind::kLocal);
  CHECK(planOf({"ECHO", "x"}).kind == Kind::kLocal);
  CHECK(planOf({"CLUSTER", "KEYSLOT", "foo"}).kind == Kind::kLocal);
  // The proxy answers CLUSTER NODES / SLOTS / SHARDS with its own view of the cluster.
  CHECK(planOf({"CLUSTER", "NODES"}).kind == Kind::kLocal);

  Plan multi = planOf({"MULTI"});
  CHECK(multi.kind == Kind::kReject);
  CHECK_THAT(multi.reply, Catch::StartsWith("-ERR ") && Catch::Contains("does not support") &&
                              Catch::Contains("multi") && Catch::EndsWith("\r\n"));
  // Cluster administration makes no sense through a proxy.
  for (auto args : {std::initializer_list<std::string_view>{"CLUSTER", "FAILOVER"},
                    {"CLUSTER", "MEET", "10.0.0.1", "7000"},
                    {"cluster", "setslot", "1", "stable"}}) {
    Plan p = planOf(args);
    CHECK(p.kind == Kind::kReject);
    CHECK_THAT(p.reply, Catch::StartsWith("-ERR ") && Catch::Contains("slotgate") && Catch::EndsWith("\r\n"));
  }
}

TEST_CASE("multi-key commands: one slot, split by slot, or CROSSSLOT", "[plan]") {
  const std::string crossslot = "-CROSSSLOT Keys in request don't hash to the same slot\r\n";
  Plan same = planOf({"MSET", "{t}a", "1", "{t}b", "2"});
  CHECK(same.kind == Kind::kSlot);
  CHECK(same.slot == planOf({"GET", "t"}).slot);

  // MSET over two slots is split by slot (never by node), keys grouped in request order.
  Plan mset = planOf({"MSET", "a", "1", "b", "2", "{a}x", "3"});
  REQUIRE(mset.kind == Kind::kSplit);
  CHECK(mset.key_step == 2);
  REQUIRE(mset.groups.size() == 2);
  CHECK(mset.groups[0].slot == kSlotA);
  CHECK(mset.groups[0].key_positions == Positions{1, 5});
  CHECK(mset.groups[1].slot == kSlotB);
  CHECK(mset.groups[1].key_positions == Positions{3});
  CHECK_FALSE(mset.readonly);
  Plan del = planOf({"DEL", "b", "a", "a{b}c"});
  REQUIRE(del.kind == Kind::kSplit);
  CHECK(del.key_step == 1);
  REQUIRE(del.groups.size() == 2);
  CHECK(del.groups[0].key_positions == Positions{1, 3});
  CHECK(del.groups[1].key_positions == Positions{2});

  // Commands whose meaning a split would change get Redis's own CROSSSLOT, byte for byte.
  for (auto args : {std::initializer_list<std::string_view>{"RENAME", "a", "b"},
                    {"MSETNX", "a", "1", "b", "2"},
                    {"SMOVE", "a", "b", "m"},
                    {"SINTERSTORE", "a", "b"},
                    {"EVAL", "return 1", "2", "a", "b"}}) {
    Plan p = planOf(args);
    CHECK(p.kind == Kind::kReject);
    CHECK(p.reply == crossslot);
  }
}

TEST_CASE("classifier rejections carry Redis's exact error", "[plan][classifier]") {
  struct Case {
    std::vector<std::string_view> argv;
    std::string reply;  // what redis-server 7.0.15 answers
  };
  const std::vector<Case> cases = {
      {{"foo", "a", "b"}, "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n"},
      {{"FOO", "a", "b"}, "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n"},
      {{"foo"}, "-ERR unknown command 'foo', with args beginning with: \r\n"},
      {{"GET"}, "-ERR wrong number of arguments for 'get' command\r\n"},
      {{"get", "a", "b"}, "-ERR wrong number of arguments for 'get' command\r\n"},
      {{"OBJECT"}, "-ERR wrong number of arguments for 'object' command\r\n"},
      // A subcommand is named by its full name, '|' and all, as Redis 7.0 does.
      {{"CONFIG", "GET"}, "-ERR wrong number of arguments for 'config|get' command\r\n"},
      {{"OBJECT", "HELP", "x"}, "-ERR wrong number of arguments for 'object|help' command\r\n"},
      {{"OBJECT", "xyz", "k"}, "-ERR unknown subcommand 'xyz'. Try OBJECT HELP.\r\n"},
      {{"object", "xyz"}, "-ERR unknown subcommand 'xyz'. Try OBJECT HELP.\r\n"},
      {{"CLUSTER", "xyz"}, "-ERR unknown subcommand 'xyz'. Try CLUSTER HELP.\r\n"},
  };
  command::Classification c;
  for (const Case& k : cases) {
    INFO(k.reply);
    command::classify(k.argv, &c);
    CHECK(c.error == k.reply);
  }
}

TEST_CASE("classifier: Redis's text for unknown commands with long arguments", "[plan][classifier]") {
  command::Classification c;
  // Redis quotes up to 128 - (what it has written so far) characters of each argument
  // (sdscatprintf "'%.*s' "): 128 'x' here, and 25 'b' after a 100-byte argument.
  const std::string x200(200, 'x'), a100(100, 'a'), b100(100, 'b');
  std::vector<std::string_view> long1 = {"FoO", x200, "y"};
  command::classify(long1, &c);
  CHECK(c.error == "-ERR unknown command 'FoO', with args beginning with: '" + std::string(128, 'x') + "' \r\n");
  std::vector<std::string_view> long2 = {"bar", a100, b100, "c"};
  command::classify(long2, &c);
  CHECK(c.error == "-ERR unknown command 'bar', with args beginning with: '" + a100 + "' '" +
                       std::string(25, 'b') + "' \r\n");
}

TEST_CASE("a bad EVAL key count is left to a node, which answers Redis's own error", "[plan]") {
  // Redis answers "Number of keys can't be greater than number of args", "value is not an
  // integer or out of range", "Number of keys can't be negative": the classifier passes them
  // on with no keys, so any primary gives that answer.
  for (auto args : {std::initializer_list<std::string_view>{"EVAL", "return 1", "5", "a"},
                    {"EVAL", "return 1", "x", "a"},
                    {"EVAL", "return 1", "-1"},
                    {"EVALSHA", "abc", "3", "k"}}) {
    Routed r = route(args);
    CHECK(r.error.empty());
    CHECK(r.keys.empty());
    CHECK(r.plan.kind == Kind::kAnyPrimary);
  }
}

TEST_CASE("CLUSTER COUNTKEYSINSLOT / GETKEYSINSLOT go to the slot they name", "[plan]") {
  Plan count = planOf({"CLUSTER", "COUNTKEYSINSLOT", "100"});
  CHECK(count.kind == Kind::kSlot);
  CHECK(count.slot == 100);
  Plan keys = planOf({"CLUSTER", "GETKEYSINSLOT", "16383", "10"});
  CHECK(keys.kind == Kind::kSlot);
  CHECK(keys.slot == 16383);
  // A bad slot goes to any node, which answers with Redis's own text for it ("Invalid slot",
  // "value is not an integer or out of range", "Invalid slot or number of keys").
  for (auto args : {std::initializer_list<std::string_view>{"CLUSTER", "COUNTKEYSINSLOT", "99999"},
                    {"CLUSTER", "COUNTKEYSINSLOT", "-1"},
                    {"CLUSTER", "COUNTKEYSINSLOT", "x"},
                    {"CLUSTER", "GETKEYSINSLOT", "16384", "1"}}) {
    CHECK(planOf(args).kind == Kind::kAnyPrimary);
  }
}

}  // namespace slotgate::route
