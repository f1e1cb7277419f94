// MOVED, ASK and TRYAGAIN as a request on the shared pipelined links meets them.
#include <catch2/catch.hpp>

#include "common/retry_policy.h"
#include "test/support/request_harness.h"

using namespace slotgate;
using namespace slotgate::test;

TEST_CASE("MOVED mid-pipeline: the moved command follows, the others keep their replies, the map is patched") {
  RequestHarness h;
  h.send(1, kGet, 100, true);
  h.send(2, kSet, 100, false);
  h.send(3, kGet, 200, true);
  REQUIRE(h.a().sent().size() == 3);
  h.a().reply("-MOVED 100 127.0.0.1:7001\r\n");
  h.a().reply("+OK\r\n");
  h.a().reply("$1\r\nx\r\n");
  // The first went to B at once, with no ASKING; the other two were answered by A.
  REQUIRE(h.b().sent().size() == 1);
  CHECK(h.b().sent()[0].bytes == kGet);
  CHECK_FALSE(h.b().sent()[0].asking);
  CHECK(h.client.replies[2] == "+OK\r\n");
  CHECK(h.client.replies[3] == "$1\r\nx\r\n");
  CHECK_FALSE(h.client.has(1));
  h.b().reply("$1\r\ny\r\n");
  CHECK(h.client.replies[1] == "$1\r\ny\r\n");
  // The slot now lives on B for new commands; its neighbour stays on A; a refresh was asked for.
  CHECK(h.dispatcher->ownerOf(100) == &h.b());
  CHECK(h.dispatcher->ownerOf(200) == &h.a());
  CHECK(h.refreshes > 0);
  CHECK(h.stats.moved_redirects.get() == 1);
}

TEST_CASE("ASK mid-pipeline: ASKING then the command at the target, the map unchanged") {
  RequestHarness h;
  h.send(1, kGet, 100, true);
  h.send(2, kGet, 100, true);
  h.a().reply("-ASK 100 127.0.0.1:7001\r\n");
  REQUIRE(h.b().sent().size() == 1);
  CHECK(h.b().sent()[0].asking);
  CHECK(h.dispatcher->ownerOf(100) == &h.a());
  h.a().reply(":2\r\n");
  h.b().reply(":1\r\n");
  CHECK(h.client.replies[1] == ":1\r\n");
  CHECK(h.client.replies[2] == ":2\r\n");
  // The next command for the slot still goes to A.
  h.send(3, kGet, 100, true);
  CHECK(h.a().sent().size() == 3);
}

TEST_CASE("TRYAGAIN: sent again to the same node after the policy's backoff") {
  RequestHarness h;
  h.send(1, kSet, 100, false);
  h.a().reply("-TRYAGAIN Multiple keys request during rehashing of slot\r\n");
  CHECK(h.a().sent().size() == 1);  // not at once
  h.clock.advance(common::RetryPolicy::backoffMs(1) - 1);
  CHECK(h.a().sent().size() == 1);
  h.clock.advance(1);
  REQUIRE(h.a().sent().size() == 2);
  h.a().reply("+OK\r\n");
  CHECK(h.client.replies[1] == "+OK\r\n");
  CHECK(h.stats.tryagain_retries.get() == 1);
}

TEST_CASE("Redirects are bounded by max_redirects and the client gets the last answer") {
  RequestHarness h;
  h.send(1, kGet, 100, true);
  for (int i = 0; i < 5; ++i) {
    FakeNodeLink& at = i % 2 == 0 ? h.a() : h.b();
    at.reply(i % 2 == 0 ? "-ASK 100 127.0.0.1:7001\r\n" : "-ASK 100 127.0.0.1:7000\r\n");
  }
  REQUIRE_FALSE(h.client.has(1));
  h.b().reply("-ASK 100 127.0.0.1:7000\r\n");
  REQUIRE(h.client.has(1));
  CHECK(h.client.replies[1].find("gave up after 5 redirects") != std::string::npos);
}
