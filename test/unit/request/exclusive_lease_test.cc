// Requests on a client's exclusive lease: EXEC's batch and blocking commands, through the same
// redirect and failure rules as the shared links.
#include <catch2/catch.hpp>

#include "common/retry_policy.h"
#include "test/support/request_harness.h"

using namespace slotgate;
using namespace slotgate::test;

namespace {

constexpr std::string_view kBatch =
    "*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*1\r\n$4\r\nEXEC\r\n";

struct LeaseHarness : RequestHarness {
  std::shared_ptr<request::ExclusiveLease> lease = std::make_shared<request::ExclusiveLease>(links, clock);

  // As a client that leaves: the lease lets its link go, and with it the requests still waiting on
  // it (each of which holds the lease).
  ~LeaseHarness() {
    lease->release();
    clock.runDue();
  }

  request::RequestPtr exec(uint64_t seq, bool watching) {
    auto request = make(seq, kBatch, 100, false);
    request->setLease(lease, watching);
    request->expectBatch(1, watching, 2);
    dispatcher->dispatch(request);
    return request;
  }
};

}  // namespace

TEST_CASE("EXEC goes as one batch on the lease's own link, expecting every reply") {
  LeaseHarness h;
  h.exec(1, false);
  CHECK(h.a().sent().empty());  // never on the shared link
  FakeNodeLink* link = h.links.lastExclusive();
  REQUIRE(link);
  CHECK(link->port() == kPortA);
  REQUIRE(link->sent().size() == 1);
  CHECK(link->sent()[0].bytes == kBatch);
  CHECK(link->sent()[0].replies == 3);
  link->reply("+OK\r\n");
  link->reply("+QUEUED\r\n");
  CHECK_FALSE(h.client.has(1));
  link->reply("*1\r\n+OK\r\n");
  CHECK(h.client.replies[1] == "*1\r\n+OK\r\n");
}

TEST_CASE("EXEC after its slot moved: the batch goes to the new owner") {
  LeaseHarness h;
  h.exec(1, false);
  FakeNodeLink* first = h.links.lastExclusive();
  first->reply("+OK\r\n");
  first->reply("-MOVED 100 127.0.0.1:7001\r\n");
  first->reply("-EXECABORT Transaction discarded because of previous errors.\r\n");
  FakeNodeLink* second = h.links.lastExclusive();
  REQUIRE(second != first);
  CHECK(second->port() == kPortB);
  REQUIRE(second->sent().size() == 1);
  CHECK(second->sent()[0].bytes == kBatch);
  second->reply("+OK\r\n");
  second->reply("+QUEUED\r\n");
  second->reply("*1\r\n+OK\r\n");
  CHECK(h.client.replies[1] == "*1\r\n+OK\r\n");
  CHECK(h.dispatcher->ownerOf(100) == &h.b());
}

TEST_CASE("EXEC after its slot moved with a WATCH in force: the aborted-by-WATCH nil") {
  LeaseHarness h;
  h.exec(1, true);
  FakeNodeLink* link = h.links.lastExclusive();
  link->reply("+OK\r\n");
  link->reply("-MOVED 100 127.0.0.1:7001\r\n");
  link->reply("-EXECABORT Transaction discarded because of previous errors.\r\n");
  CHECK(h.client.replies[1] == "*-1\r\n");
  CHECK(h.links.exclusiveOpened() == 1);  // never sent elsewhere
}

TEST_CASE("An EXEC refused for a genuine error is the client's answer") {
  LeaseHarness h;
  h.exec(1, false);
  FakeNodeLink* link = h.links.lastExclusive();
  link->reply("+OK\r\n");
  link->reply("-ERR wrong number of arguments\r\n");
  link->reply("-EXECABORT Transaction discarded because of previous errors.\r\n");
  CHECK(h.client.replies[1].starts_with("-EXECABORT"));
  CHECK(h.links.exclusiveOpened() == 1);
}

TEST_CASE("A blocking command whose node dies: outcome unknown, and the lease opens a new link next time") {
  LeaseHarness h;
  auto blpop = h.make(1, "*3\r\n$5\r\nBLPOP\r\n$1\r\nk\r\n$1\r\n0\r\n", 100, false);
  blpop->setLease(h.lease);
  blpop->setExtraMs(backend::NodeLink::kNoDeadline);
  h.dispatcher->dispatch(blpop);
  FakeNodeLink* link = h.links.lastExclusive();
  REQUIRE(link);
  CHECK(link->sent()[0].extra_ms == backend::NodeLink::kNoDeadline);
  link->drop();
  REQUIRE(h.client.has(1));
  CHECK(h.client.replies[1].find("write outcome unknown") != std::string::npos);
  CHECK(h.lease->intactLink() == nullptr);
  auto again = h.make(2, "*3\r\n$5\r\nBLPOP\r\n$1\r\nk\r\n$1\r\n0\r\n", 100, false);
  again->setLease(h.lease);
  h.dispatcher->dispatch(again);
  CHECK(h.links.exclusiveOpened() == 2);
}

TEST_CASE("A blocking command whose node cannot be reached waits for the new owner, on a new link") {
  LeaseHarness h;
  h.links.kill(kHost, kPortA);
  auto blpop = h.make(1, "*3\r\n$5\r\nBLPOP\r\n$1\r\nk\r\n$1\r\n5\r\n", 100, false);
  blpop->setLease(h.lease);
  blpop->setExtraMs(5000);
  h.dispatcher->dispatch(blpop);
  h.clock.advance(500);
  CHECK_FALSE(h.client.has(1));
  h.dispatcher->setTopology(twoPrimaries(kPortC));
  h.clock.advance(300);
  FakeNodeLink* link = h.links.lastExclusive();
  REQUIRE(link);
  CHECK(link->port() == kPortC);
  REQUIRE(link->sent().size() == 1);
  CHECK(link->sent()[0].extra_ms == 5000);
  CHECK(h.a().sent().empty());
  link->reply("*2\r\n$1\r\nk\r\n$1\r\nv\r\n");
  CHECK(h.client.replies[1] == "*2\r\n$1\r\nk\r\n$1\r\nv\r\n");
}

TEST_CASE("A lease told to learn its node's client id asks CLIENT ID in front of the command, once per link") {
  LeaseHarness h;
  constexpr std::string_view kBlpop = "*3\r\n$5\r\nBLPOP\r\n$1\r\nk\r\n$1\r\n0\r\n";
  constexpr std::string_view kClientId = "*2\r\n$6\r\nCLIENT\r\n$2\r\nID\r\n";
  h.lease->learnNodeId();
  auto blpop = h.make(1, kBlpop, 100, false);
  blpop->setLease(h.lease);
  h.dispatcher->dispatch(blpop);
  FakeNodeLink* link = h.links.lastExclusive();
  REQUIRE(link);
  // One send, so one deadline and one failure: the command's.
  REQUIRE(link->sent().size() == 1);
  CHECK(link->sent()[0].bytes == std::string(kClientId) + std::string(kBlpop));
  CHECK(link->sent()[0].replies == 2);
  CHECK(h.lease->nodeClientId() == 0);
  link->reply(":42\r\n");
  CHECK(h.lease->nodeClientId() == 42);
  CHECK_FALSE(h.client.has(1));  // the id was the lease's, not the client's
  link->reply("*-1\r\n");
  CHECK(h.client.replies[1] == "*-1\r\n");
  // The same link again: no second ask.
  auto again = h.make(2, kBlpop, 100, false);
  again->setLease(h.lease);
  h.dispatcher->dispatch(again);
  REQUIRE(link->sent().size() == 2);
  CHECK(link->sent()[1].bytes == kBlpop);
  // A broken link: its id is gone with it.
  link->drop();
  CHECK(h.lease->nodeClientId() == 0);
}

TEST_CASE("A lease asks no CLIENT ID unless told to") {
  LeaseHarness h;
  h.exec(1, false);
  FakeNodeLink* link = h.links.lastExclusive();
  REQUIRE(link->sent().size() == 1);
  CHECK(link->sent()[0].bytes == kBatch);
}

TEST_CASE("A node that never answers the CLIENT ID in front fails the command itself, at its deadline") {
  LeaseHarness h;
  h.lease->learnNodeId();
  auto blpop = h.make(1, "*3\r\n$5\r\nBLPOP\r\n$1\r\nk\r\n$1\r\n1\r\n", 100, false);
  blpop->setLease(h.lease);
  h.dispatcher->dispatch(blpop);
  FakeNodeLink* link = h.links.lastExclusive();
  REQUIRE(link);
  link->timeOutHead();
  REQUIRE(h.client.has(1));
  CHECK(h.client.replies[1].find("did not answer") != std::string::npos);
  CHECK(h.lease->nodeClientId() == 0);
}
