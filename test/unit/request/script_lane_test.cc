// Scripts travel on their node's script lane, never on the shared pipelined link, and a client's
// commands follow them there while any is in flight; commands Redis serves during a busy script
// go on a link with nothing in flight.
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "proxy/request/exclusive_lease.h"
#include "proxy/request/multi_request.h"
#include "test/support/request_harness.h"

using namespace slotgate;
using namespace slotgate::test;

namespace {

constexpr std::string_view kSpin = "*3\r\n$4\r\nEVAL\r\n$17\r\nwhile true do end\r\n$1\r\n0\r\n";
constexpr std::string_view kKill = "*2\r\n$6\r\nSCRIPT\r\n$4\r\nKILL\r\n";

}  // namespace

TEST_CASE("a script and the commands its client sends meanwhile take the script lane", "[script_lane]") {
  RequestHarness h;
  h.link->script_lane = true;  // what the executor marks for a script
  auto script = h.send(1, kSpin, 0, false);
  auto get = h.send(2, kGet, 0, true);
  FakeNodeLink& lane = h.links.lane(kHost, kPortA);
  REQUIRE(lane.sent().size() == 2);
  CHECK(lane.sent()[0].bytes == kSpin);
  CHECK(lane.sent()[1].bytes == kGet);
  CHECK(h.a().sent().empty());  // the shared link carries nothing of theirs

  // Another client's GET is on the shared link, not behind the running script.
  RecordingClient other;
  auto other_link = std::make_shared<request::ReplyLink>(request::ReplyLink{&other});
  h.dispatcher->dispatch(request::Request::make(*h.dispatcher, other_link, 7, kGet, 0, true));
  REQUIRE(h.a().sent().size() == 1);
  h.a().reply("-BUSY Redis is busy running a script.\r\n");
  CHECK(other.replies[7] == "-BUSY Redis is busy running a script.\r\n");  // the node's own, as is
  lane.reply("+done\r\n");
  lane.reply("$1\r\nv\r\n");
  CHECK(h.client.replies[1] == "+done\r\n");
  CHECK(h.client.replies[2] == "$1\r\nv\r\n");
  other_link->target = nullptr;
}

TEST_CASE("a script moved to another node stays on a script lane there", "[script_lane]") {
  RequestHarness h;
  h.link->script_lane = true;
  h.send(1, kSpin, 100, false);
  FakeNodeLink& lane_a = h.links.lane(kHost, kPortA);
  REQUIRE(lane_a.sent().size() == 1);
  lane_a.reply("-MOVED 100 127.0.0.1:7001\r\n");
  FakeNodeLink& lane_b = h.links.lane(kHost, kPortB);
  REQUIRE(lane_b.sent().size() == 1);
  CHECK(h.b().sent().empty());
  lane_b.reply(":1\r\n");
  CHECK(h.client.replies[1] == ":1\r\n");
}

TEST_CASE("parts of a split command follow their client onto the script lanes", "[script_lane]") {
  RequestHarness h;
  h.link->script_lane = true;
  auto multi = std::make_shared<request::MultiRequest>(
      h.link, 3, std::vector<request::PartLabel>{{0, {}}, {9000, {}}},
      [](std::span<const std::string> parts) { return parts[0] + parts[1]; }, false);
  h.dispatcher->dispatch(request::Request::make(*h.dispatcher, multi->partLink(), 0, kGet, 0, true));
  h.dispatcher->dispatch(request::Request::make(*h.dispatcher, multi->partLink(), 1, kGet, 9000, true));
  CHECK(h.links.lane(kHost, kPortA).sent().size() == 1);
  CHECK(h.links.lane(kHost, kPortB).sent().size() == 1);
  CHECK(h.a().sent().empty());
  CHECK(h.b().sent().empty());

  // Without the mark, a client's commands use the shared links.
  h.link->script_lane = false;
  h.send(4, kGet, 0, true);
  CHECK(h.a().sent().size() == 1);
}

TEST_CASE("SCRIPT KILL goes on a link with nothing in flight, past a busy shared link", "[script_lane]") {
  RequestHarness h;
  h.send(1, kSet, 0, false);  // the shared link has something in flight
  auto kill = h.make(2, kKill, request::Request::kAnyPrimary, false);
  kill->pinTo(&h.a());
  kill->setLease(std::make_shared<request::ExclusiveLease>(h.links, h.clock));
  h.dispatcher->dispatch(kill);
  CHECK(h.a().sent().size() == 1);  // only the SET
  FakeNodeLink* idle = h.links.lastExclusive();
  REQUIRE(idle);
  REQUIRE(idle->sent().size() == 1);
  CHECK(idle->sent()[0].bytes == kKill);
  idle->reply("+OK\r\n");
  CHECK(h.client.replies[2] == "+OK\r\n");
  kill.reset();
  h.clock.runDue();
  CHECK(h.links.exclusive().empty());  // the link went with the request
}
