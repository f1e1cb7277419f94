// A node that dies under a request, and the failover hold.
#include <catch2/catch.hpp>

#include "common/retry_policy.h"
#include "test/support/request_harness.h"

using namespace slotgate;
using namespace slotgate::test;

TEST_CASE("A node dies with a read and a write in flight: the read is resent once, the write is reported") {
  RequestHarness h;
  h.send(1, kGet, 100, true);
  h.send(2, kSet, 100, false);
  h.a().drop();
  // The write may have been applied: the client is told, never retried.
  REQUIRE(h.client.has(2));
  CHECK(h.client.replies[2].find("write outcome unknown") != std::string::npos);
  CHECK_FALSE(h.client.has(1));
  h.clock.advance(common::RetryPolicy::backoffMs(1));
  REQUIRE(h.a().sent().size() == 3);
  CHECK(h.a().sent()[2].bytes == kGet);
  // Lost a second time: no third try.
  h.a().drop();
  REQUIRE(h.client.has(1));
  CHECK(h.client.replies[1].find("lost twice") != std::string::npos);
  CHECK(h.stats.inflight_reads_retried.get() == 1);
  CHECK(h.stats.inflight_writes_lost.get() == 1);
}

TEST_CASE("An unreachable node: the command waits for the slot's new owner within failover_wait") {
  RequestHarness h;
  h.a().die();
  h.send(1, kSet, 100, false);
  CHECK_FALSE(h.client.has(1));
  h.clock.advance(500);
  // A replica took over: the next look finds it.
  h.dispatcher->setTopology(twoPrimaries(kPortC));
  h.clock.advance(300);
  FakeNodeLink& c = h.links.node(kHost, kPortC);
  REQUIRE(c.sent().size() == 1);
  c.reply("+OK\r\n");
  CHECK(h.client.replies[1] == "+OK\r\n");
}

TEST_CASE("An unreachable node and no failover: CLUSTERDOWN after failover_wait") {
  RequestHarness h;
  h.a().die();
  h.send(1, kSet, 100, false);
  h.clock.advance(1900);
  CHECK_FALSE(h.client.has(1));
  h.clock.advance(500);
  REQUIRE(h.client.has(1));
  CHECK(h.client.replies[1].starts_with("-CLUSTERDOWN slotgate cannot reach node 127.0.0.1:7000"));
}

TEST_CASE("The failover hold keeps commands for a failing primary and releases them in arrival order") {
  RequestHarness h;
  h.dispatcher->setTopology(twoPrimaries(kPortA, true));
  h.send(1, kSet, 100, false);
  h.send(2, kGet, 100, true);
  h.send(3, "*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n", 100, false);
  h.send(4, kGet, 9000, true);  // another primary's slot is not held
  CHECK(h.a().sent().empty());
  CHECK(h.b().sent().size() == 1);
  CHECK(h.dispatcher->heldRequests() == 3);
  h.clock.advance(300);
  h.dispatcher->setTopology(twoPrimaries(kPortC));
  FakeNodeLink& c = h.links.node(kHost, kPortC);
  REQUIRE(c.sent().size() == 3);
  CHECK(c.sent()[0].bytes == kSet);
  CHECK(c.sent()[1].bytes == kGet);
  CHECK(c.sent()[2].bytes == "*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n");
  CHECK(h.dispatcher->heldRequests() == 0);
}

TEST_CASE("The failover hold ends with CLUSTERDOWN after failover_wait") {
  RequestHarness h;
  h.dispatcher->setTopology(twoPrimaries(kPortA, true));
  h.send(1, kSet, 100, false);
  h.clock.advance(1950);
  CHECK_FALSE(h.client.has(1));
  h.clock.advance(100);
  REQUIRE(h.client.has(1));
  CHECK(h.client.replies[1].find("no replica took over within 2000 ms") != std::string::npos);
}
