// Keyspace notifications across primaries: what can carry them is subscribed on every primary,
// keyspace links deliver only keyspace messages (an ordinary message arrives once, from the global
// link), and the links follow the map when a failover moves a primary.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "proxy/state/keyspace_channels.h"
#include "proxy/state/subscriptions.h"
#include "test/support/request_harness.h"

using namespace slotgate;
using namespace slotgate::test;

namespace {

std::string bulk(std::string_view s) { return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n"; }
std::string message(std::string_view channel, std::string_view payload) {
  return "*3\r\n" + bulk("message") + bulk(channel) + bulk(payload);
}
std::string pmessage(std::string_view pattern, std::string_view channel, std::string_view payload) {
  return "*4\r\n" + bulk("pmessage") + bulk(pattern) + bulk(channel) + bulk(payload);
}

struct KeyspaceHarness : RequestHarness {
  state::ClientInfo info;
  std::vector<std::string> emitted;
  state::Subscriptions subs{clock, *dispatcher, 2,
                            info,  link,        [this](std::string_view bytes) { emitted.emplace_back(bytes); }};

  void command(command::Handler op, std::vector<std::string_view> argv) { subs.command(op, argv); }
  // The exclusive link open now to `port`, if exactly one is.
  FakeNodeLink* linkTo(uint16_t port) {
    FakeNodeLink* found = nullptr;
    for (FakeNodeLink* l : links.exclusive()) {
      if (l->port() != port) continue;
      if (found) return nullptr;
      found = l;
    }
    return found;
  }
};

}  // namespace

TEST_CASE("Which channels and patterns can carry keyspace notifications") {
  using state::isKeyspaceChannel;
  using state::patternMayMatchKeyspace;
  CHECK(isKeyspaceChannel("__keyspace@0__:foo"));
  CHECK(isKeyspaceChannel("__keyevent@0__:set"));
  CHECK_FALSE(isKeyspaceChannel("news"));
  CHECK_FALSE(isKeyspaceChannel("__key"));
  for (auto p : {"*", "__key*", "__keyspace@0__:*", "__keyevent@*__:expired", "_?keyspace@0__:k", "[_]_key*",
                 "__key[a-z]vent@0__:del", "__keyspace@0__:foo", "*:foo", "\\_\\_keyspace*"}) {
    INFO(p);
    CHECK(patternMayMatchKeyspace(p));
  }
  for (auto p : {"news", "news*", "__keyx*", "[^_]*", "__keyspace", "_?keyz*", "a*"}) {
    INFO(p);
    CHECK_FALSE(patternMayMatchKeyspace(p));
  }
  CHECK(state::messageChannel(message("ch", "x")) == "ch");
  CHECK(state::messageChannel(pmessage("*", "ch2", "x")) == "ch2");
  CHECK(state::messageChannel("*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n").empty());
}

TEST_CASE("A keyspace pattern is subscribed on every primary; ordinary messages arrive once") {
  KeyspaceHarness h;
  h.command(command::Handler::kPsubscribe, {"PSUBSCRIBE", "*"});
  FakeNodeLink* global = h.linkTo(kPortA);  // the pub/sub node: the first primary by address
  FakeNodeLink* other = h.linkTo(kPortB);
  REQUIRE(global);
  REQUIRE(other);
  CHECK(h.links.exclusive().size() == 2);
  REQUIRE(other->raw().size() >= 1);
  CHECK(other->raw()[0] == "*2\r\n$10\r\npsubscribe\r\n$1\r\n*\r\n");
  // The client sees one confirmation: the global link's.
  other->push("*3\r\n$10\r\npsubscribe\r\n$1\r\n*\r\n:1\r\n");
  CHECK(h.emitted.empty());
  global->push("*3\r\n$10\r\npsubscribe\r\n$1\r\n*\r\n:1\r\n");
  REQUIRE(h.emitted.size() == 1);
  CHECK(h.subs.expecting() == 0);

  // A PUBLISH reaches every node: only the global link delivers it.
  global->push(pmessage("*", "news", "hello"));
  other->push(pmessage("*", "news", "hello"));
  // Each node's keyspace events are its own: both deliver them.
  global->push(pmessage("*", "__keyspace@0__:a", "set"));
  other->push(pmessage("*", "__keyspace@0__:b", "set"));
  REQUIRE(h.emitted.size() == 4);
  CHECK(h.emitted[1] == pmessage("*", "news", "hello"));
  CHECK(h.emitted[2] == pmessage("*", "__keyspace@0__:a", "set"));
  CHECK(h.emitted[3] == pmessage("*", "__keyspace@0__:b", "set"));

  // PUNSUBSCRIBE of it all: the keyspace links go.
  h.command(command::Handler::kPunsubscribe, {"PUNSUBSCRIBE"});
  h.clock.runDue();
  CHECK(h.linkTo(kPortB) == nullptr);
  CHECK(h.links.exclusive().size() == 1);
}

TEST_CASE("Only channels and patterns that can carry keyspace notifications go to every primary") {
  KeyspaceHarness h;
  h.command(command::Handler::kSubscribe, {"SUBSCRIBE", "news"});
  h.command(command::Handler::kPsubscribe, {"PSUBSCRIBE", "news*"});
  CHECK(h.links.exclusive().size() == 1);
  h.command(command::Handler::kSubscribe, {"SUBSCRIBE", "__keyevent@0__:del", "other"});
  FakeNodeLink* other = h.linkTo(kPortB);
  REQUIRE(other);
  REQUIRE(other->raw().size() >= 1);
  CHECK(other->raw()[0] == "*2\r\n$9\r\nsubscribe\r\n$18\r\n__keyevent@0__:del\r\n");
  for (const std::string& sent : other->raw()) CHECK(sent.find("news") == std::string::npos);
  other->push(message("__keyevent@0__:del", "k"));
  REQUIRE(h.emitted.size() == 1);
  h.command(command::Handler::kUnsubscribe, {"UNSUBSCRIBE", "__keyevent@0__:del"});
  h.clock.runDue();
  CHECK(h.linkTo(kPortB) == nullptr);
}

TEST_CASE("Keyspace links follow a failover, and the global link leaves a demoted node") {
  KeyspaceHarness h;
  h.command(command::Handler::kPsubscribe, {"PSUBSCRIBE", "__key*__:*"});
  FakeNodeLink* global = h.linkTo(kPortA);
  REQUIRE(global);
  REQUIRE(h.linkTo(kPortB));
  global->push("*3\r\n$10\r\npsubscribe\r\n$10\r\n__key*__:*\r\n:1\r\n");
  REQUIRE(h.emitted.size() == 1);

  // A's slots go to C; A is alive but no longer a primary (a replica repeats its primary's
  // events, which C's link delivers): the global link moves, silently, to a primary.
  h.dispatcher->setTopology(twoPrimaries(kPortC));
  h.clock.advance(300);
  CHECK(h.linkTo(kPortA) == nullptr);
  FakeNodeLink* moved = h.linkTo(kPortB);  // now the first primary by address: the global link
  FakeNodeLink* third = h.linkTo(kPortC);
  REQUIRE(moved);
  REQUIRE(third);
  CHECK(h.links.exclusive().size() == 2);
  moved->push("*3\r\n$10\r\npsubscribe\r\n$10\r\n__key*__:*\r\n:1\r\n");
  third->push("*3\r\n$10\r\npsubscribe\r\n$10\r\n__key*__:*\r\n:1\r\n");
  CHECK(h.emitted.size() == 1);  // nothing new shown
  third->push(pmessage("__key*__:*", "__keyevent@0__:set", "k"));
  moved->push(pmessage("__key*__:*", "__keyevent@0__:set", "j"));
  REQUIRE(h.emitted.size() == 3);
}

TEST_CASE("A lost keyspace link is made again") {
  KeyspaceHarness h;
  h.command(command::Handler::kSubscribe, {"SUBSCRIBE", "__keyspace@0__:k"});
  FakeNodeLink* other = h.linkTo(kPortB);
  REQUIRE(other);
  other->drop();
  h.clock.runDue();
  CHECK(h.linkTo(kPortB) == nullptr);
  h.clock.advance(300);
  FakeNodeLink* again = h.linkTo(kPortB);
  REQUIRE(again);
  REQUIRE(again->raw().size() == 1);
  CHECK(again->raw()[0] == "*2\r\n$9\r\nsubscribe\r\n$16\r\n__keyspace@0__:k\r\n");
}

namespace {

// Primaries by port, each with a range of slots (the last one's to the end).
cluster::TopologyPtr primariesOn(std::vector<std::pair<uint16_t, int>> ports_and_first_slots) {
  auto topology = std::make_shared<cluster::Topology>();
  for (size_t i = 0; i < ports_and_first_slots.size(); ++i) {
    auto [port, first] = ports_and_first_slots[i];
    cluster::NodeInfo node;
    node.id = "n" + std::to_string(port);
    node.host = kHost;
    node.port = port;
    node.primary = true;
    int index = topology->addNode(node);
    int last = i + 1 < ports_and_first_slots.size() ? ports_and_first_slots[i + 1].second - 1 : 16383;
    topology->assign(first, last, index);
  }
  return topology;
}

}  // namespace

TEST_CASE("A primary that joins gets a keyspace link; one that leaves loses it") {
  KeyspaceHarness h;
  h.command(command::Handler::kPsubscribe, {"PSUBSCRIBE", "__keyevent@0__:*"});
  REQUIRE(h.linkTo(kPortA));
  REQUIRE(h.linkTo(kPortB));
  h.dispatcher->setTopology(primariesOn({{kPortA, 0}, {kPortB, 5000}, {kPortC, 10000}}));
  h.clock.advance(300);
  FakeNodeLink* joined = h.linkTo(kPortC);
  REQUIRE(joined);
  REQUIRE(joined->raw().size() == 1);
  CHECK(joined->raw()[0] == "*2\r\n$10\r\npsubscribe\r\n$16\r\n__keyevent@0__:*\r\n");
  CHECK(h.links.exclusive().size() == 3);
  // B leaves (its slots went elsewhere): its link goes; the global link (A) and C's stay.
  h.dispatcher->setTopology(primariesOn({{kPortA, 0}, {kPortC, 10000}}));
  h.clock.advance(300);
  CHECK(h.linkTo(kPortB) == nullptr);
  CHECK(h.linkTo(kPortA));
  CHECK(h.linkTo(kPortC) == joined);
  CHECK(h.links.exclusive().size() == 2);
}
