// WATCH and EXEC through the client state: the WATCH lives on the lease's link, EXEC's batch goes
// there, and a WATCH whose link was lost makes EXEC answer nil without sending anything.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "proxy/command/classifier.h"
#include "proxy/request/executor.h"
#include "proxy/state/client_state.h"
#include "test/support/client_state_harness.h"

using namespace slotgate;
using namespace slotgate::test;

namespace {

using StateHarness = ClientStateHarness;

constexpr std::string_view kWatch = "*2\r\n$5\r\nWATCH\r\n$1\r\nk\r\n";

}  // namespace

TEST_CASE("EXEC runs where the WATCH was set") {
  StateHarness h;
  uint64_t watch = h.run({"WATCH", "k"});
  FakeNodeLink* link = h.links.lastExclusive();
  REQUIRE(link);
  REQUIRE(link->sent().size() == 1);
  CHECK(link->sent()[0].bytes == kWatch);
  CHECK(h.client->runningAlone());
  link->reply("+OK\r\n");
  CHECK(h.port.replies[watch] == "+OK\r\n");
  CHECK_FALSE(h.client->runningAlone());
  h.run({"MULTI"});
  h.run({"SET", "k", "v"});
  uint64_t exec = h.run({"EXEC"});
  REQUIRE(h.links.exclusiveOpened() == 1);  // the same link
  REQUIRE(link->sent().size() == 2);
  CHECK(link->sent()[1].replies == 3);
  link->reply("+OK\r\n");
  link->reply("+QUEUED\r\n");
  link->reply("*1\r\n+OK\r\n");
  CHECK(h.port.replies[exec] == "*1\r\n+OK\r\n");
}

TEST_CASE("A WATCH whose link broke makes EXEC answer nil, sending nothing") {
  StateHarness h;
  h.run({"WATCH", "k"});
  FakeNodeLink* link = h.links.lastExclusive();
  link->reply("+OK\r\n");
  link->drop();  // the node forgot the WATCH with the connection
  h.run({"MULTI"});
  h.run({"SET", "k", "v"});
  uint64_t exec = h.run({"EXEC"});
  CHECK(h.port.replies[exec] == "*-1\r\n");
  CHECK(link->sent().size() == 1);
  CHECK(h.links.exclusiveOpened() == 1);
}

TEST_CASE("CLIENT REPLY sets the session's reply mode; inside MULTI it is refused and EXEC aborts") {
  StateHarness h;
  uint64_t next = h.port.nextSeq();
  h.run({"CLIENT", "REPLY", "OFF"});
  CHECK(h.port.mode == state::ReplyMode::kOff);
  CHECK(h.port.nextSeq() == next);  // OFF answers nothing
  h.run({"CLIENT", "REPLY", "SKIP"});
  CHECK(h.port.mode == state::ReplyMode::kSkip);
  uint64_t on = h.run({"CLIENT", "REPLY", "ON"});
  CHECK(h.port.mode == state::ReplyMode::kOn);
  CHECK(h.port.replies[on] == "+OK\r\n");
  uint64_t bad = h.run({"CLIENT", "REPLY", "maybe"});
  CHECK(h.port.replies[bad] == "-ERR syntax error\r\n");
  h.run({"MULTI"});
  uint64_t queued = h.run({"CLIENT", "REPLY", "OFF"});
  CHECK(h.port.replies[queued].find("cannot queue") != std::string::npos);
  CHECK(h.port.mode == state::ReplyMode::kOn);
  uint64_t exec = h.run({"EXEC"});
  CHECK(h.port.replies[exec].starts_with("-EXECABORT"));
  CHECK(h.links.exclusiveOpened() == 0);
}

TEST_CASE("CLIENT UNBLOCK of a blocked client goes to its node by the node's id of its link") {
  StateHarness h;
  std::vector<int> answers;
  auto done = [&answers](bool unblocked) { answers.push_back(unblocked ? 1 : 0); };
  h.info->control->unblock(false, done);  // not blocked: 0 at once
  REQUIRE(answers == std::vector<int>{0});

  uint64_t blpop = h.run({"BLPOP", "k", "0"});
  FakeNodeLink* link = h.links.lastExclusive();
  REQUIRE(link);
  REQUIRE(link->sent().size() == 1);
  CHECK(link->sent()[0].bytes.starts_with("*2\r\n$6\r\nCLIENT\r\n$2\r\nID\r\n*3\r\n$5\r\nBLPOP"));
  // Asked before the node's id is known: asked again shortly.
  h.info->control->unblock(true, done);
  CHECK(answers.size() == 1);
  link->reply(":7\r\n");
  h.clock.advance(10);
  FakeNodeLink& node = h.links.node(link->host(), link->port());
  REQUIRE(node.sent().size() == 1);
  CHECK(node.sent()[0].bytes == "*4\r\n$6\r\nCLIENT\r\n$7\r\nUNBLOCK\r\n$1\r\n7\r\n$5\r\nERROR\r\n");
  node.reply(":1\r\n");
  REQUIRE(answers == std::vector<int>{0, 1});
  // The node answers the BLPOP itself, on the lease.
  link->reply("-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
  CHECK(h.port.replies[blpop].starts_with("-UNBLOCKED"));
  CHECK_FALSE(h.client->runningAlone());
  h.info->control->unblock(false, done);
  CHECK(answers.back() == 0);
}
