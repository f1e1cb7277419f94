// Subscriptions survive a failover: the client's channels are subscribed again on a live node,
// the node's confirmations of that are not shown, and messages flow again.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "proxy/command/key_slot.h"
#include "proxy/state/subscriptions.h"
#include "test/support/request_harness.h"

using namespace slotgate;
using namespace slotgate::test;

namespace {

std::string push3(std::string_view kind, std::string_view channel, std::string_view last) {
  return "*3\r\n$" + std::to_string(kind.size()) + "\r\n" + std::string(kind) + "\r\n$" +
         std::to_string(channel.size()) + "\r\n" + std::string(channel) + "\r\n" + std::string(last);
}

struct SubsHarness : RequestHarness {
  state::ClientInfo info;
  std::vector<std::string> emitted;
  state::Subscriptions subs{clock, *dispatcher, 2,
                            info,  link,        [this](std::string_view bytes) { emitted.emplace_back(bytes); }};

  void command(command::Handler op, std::vector<std::string_view> argv) { subs.command(op, argv); }
};

// A shard channel served by the node of slots 0-8191.
std::string lowChannel() {
  for (int i = 0;; ++i) {
    std::string name = "ch" + std::to_string(i);
    if (command::keyHashSlot(name) < 8192) return name;
  }
}

}  // namespace

TEST_CASE("After its node dies, a subscription is made again elsewhere, silently") {
  SubsHarness h;
  h.command(command::Handler::kSubscribe, {"SUBSCRIBE", "news"});
  FakeNodeLink* first = h.links.lastExclusive();
  REQUIRE(first);
  REQUIRE(first->raw().size() == 1);
  CHECK(first->raw()[0] == "*2\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n");
  first->push(push3("subscribe", "news", ":1\r\n"));
  REQUIRE(h.emitted.size() == 1);
  CHECK(h.emitted[0] == push3("subscribe", "news", ":1\r\n"));

  // The node dies; its replica takes over elsewhere.
  std::string dead = first->address();
  h.links.kill(first->host(), first->port());
  first->die();
  h.clock.advance(2000);
  FakeNodeLink* second = h.links.lastExclusive();
  REQUIRE(second);
  CHECK(second->address() != dead);
  REQUIRE(second->raw().size() == 1);
  CHECK(second->raw()[0] == "*2\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n");
  // Its confirmation is ours, not the client's; the messages are the client's.
  second->push(push3("subscribe", "news", ":1\r\n"));
  second->push(push3("message", "news", "$5\r\nhello\r\n"));
  REQUIRE(h.emitted.size() == 2);
  CHECK(h.emitted[1] == push3("message", "news", "$5\r\nhello\r\n"));
  CHECK(h.subs.active());
}

TEST_CASE("A shard channel waits for its slot's new owner after a failover, then follows it") {
  SubsHarness h;
  std::string channel = lowChannel();
  h.command(command::Handler::kSsubscribe, {"SSUBSCRIBE", channel});
  FakeNodeLink* first = h.links.lastExclusive();
  REQUIRE(first);
  CHECK(first->port() == kPortA);
  first->push(push3("ssubscribe", channel, ":1\r\n"));
  REQUIRE(h.emitted.size() == 1);

  h.links.kill(kHost, kPortA);
  first->die();
  h.clock.advance(1000);
  // The map still names the dead node: nothing is sent anywhere yet.
  CHECK(h.links.exclusive().empty());
  h.dispatcher->setTopology(twoPrimaries(kPortC));
  h.clock.advance(500);
  FakeNodeLink* second = h.links.lastExclusive();
  REQUIRE(second);
  CHECK(second->port() == kPortC);
  REQUIRE(second->raw().size() == 1);
  second->push(push3("ssubscribe", channel, ":1\r\n"));
  second->push(push3("smessage", channel, "$2\r\nhi\r\n"));
  REQUIRE(h.emitted.size() == 2);
  CHECK(h.emitted[1] == push3("smessage", channel, "$2\r\nhi\r\n"));
}
