// A client's scripts through its state and the executor: a script waits for the client's earlier
// replies, then it and the client's next commands take the nodes' script lanes until nothing of
// the client is in flight; keyless scripts go to the owner of slot 0; SCRIPT KILL goes to every
// primary on links with nothing in flight and answers as one server.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "proxy/command/classifier.h"
#include "proxy/request/executor.h"
#include "proxy/route/plan.h"
#include "proxy/state/client_state.h"
#include "test/support/client_state_harness.h"

using namespace slotgate;
using namespace slotgate::test;

namespace {

using ScriptHarness = ClientStateHarness;

using Step = state::ClientState::Step;

}  // namespace

TEST_CASE("a script waits for earlier replies, then its client's commands follow it onto the lanes") {
  ScriptHarness h;
  REQUIRE(h.handle({"SET", "foo", "v"}) == Step::kDone);  // "foo" is in B's half
  REQUIRE(h.b().sent().size() == 1);
  CHECK(h.handle({"EVAL", "return 1", "0"}) == Step::kWaitForDrain);
  CHECK(h.laneA().sent().empty());
  h.b().reply("+OK\r\n");
  REQUIRE(h.handle({"EVAL", "return 1", "0"}) == Step::kDone);
  CHECK(h.link->script_lane);
  REQUIRE(h.laneA().sent().size() == 1);  // keyless: the owner of slot 0, on its lane
  CHECK(h.a().sent().empty());
  // Pipelined behind the script: on the lanes, without waiting.
  REQUIRE(h.handle({"GET", "foo"}) == Step::kDone);
  REQUIRE(h.handle({"EVAL", "return 2", "0"}) == Step::kDone);
  CHECK(h.laneB().sent().size() == 1);
  CHECK(h.laneA().sent().size() == 2);
  CHECK(h.b().sent().size() == 1);
  h.laneA().reply(":1\r\n");
  h.laneB().reply("$1\r\nv\r\n");
  h.laneA().reply(":2\r\n");
  CHECK(h.port.replies[1] == ":1\r\n");
  CHECK(h.port.replies[2] == "$1\r\nv\r\n");
  CHECK(h.port.replies[3] == ":2\r\n");
  // Nothing in flight: back on the shared links.
  CHECK_FALSE(h.link->script_lane);
  REQUIRE(h.handle({"GET", "foo"}) == Step::kDone);
  CHECK(h.b().sent().size() == 2);
}

TEST_CASE("keyless scripts always go to the owner of slot 0") {
  ScriptHarness h;
  for (int i = 0; i < 4; ++i) {
    REQUIRE(h.handle({"EVAL", "return 1", "0"}) == Step::kDone);
    REQUIRE(h.handle({"FCALL", "f", "0"}) == Step::kDone);
  }
  CHECK(h.laneA().sent().size() == 8);
  CHECK(h.links.lane(kHost, kPortB).sent().empty());
}

TEST_CASE("SCRIPT KILL reaches every primary on idle links and answers as one server") {
  ScriptHarness h;
  REQUIRE(h.handle({"GET", "foo"}) == Step::kDone);  // B's shared link is busy
  REQUIRE(h.handle({"SCRIPT", "KILL"}) == Step::kDone);
  REQUIRE(h.links.exclusive().size() == 2);
  CHECK(h.b().sent().size() == 1);
  for (FakeNodeLink* link : h.links.exclusive()) {
    REQUIRE(link->sent().size() == 1);
    CHECK(link->sent()[0].bytes.find("KILL") != std::string::npos);
  }
  FakeNodeLink* at_a = h.links.exclusive()[0]->port() == kPortA ? h.links.exclusive()[0] : h.links.exclusive()[1];
  FakeNodeLink* at_b = at_a == h.links.exclusive()[0] ? h.links.exclusive()[1] : h.links.exclusive()[0];
  at_a->reply("-NOTBUSY No scripts in execution right now.\r\n");
  at_b->reply("+OK\r\n");
  CHECK(h.port.replies[1] == "+OK\r\n");

  REQUIRE(h.handle({"SCRIPT", "KILL"}) == Step::kDone);
  auto& links = h.links.exclusive();
  REQUIRE(links.size() >= 2);
  for (FakeNodeLink* link : links) {
    if (link->inFlight()) link->reply("-NOTBUSY No scripts in execution right now.\r\n");
  }
  CHECK(h.port.replies[2] == "-NOTBUSY No scripts in execution right now.\r\n");
}
