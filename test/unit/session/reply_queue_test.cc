#include "proxy/session/reply_queue.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "common/buffer.h"

namespace slotgate::session {
namespace {

// A reply whose bytes say which command it answers; sizes vary so byte accounting is exercised.
std::string replyFor(uint64_t seq) { return "$" + std::string(seq % 7, 'x') + ":" + std::to_string(seq) + "\r\n"; }

std::string drain(common::Buffer& out) {
  std::string s(out.readable());
  out.consume(out.size());
  return s;
}

}  // namespace

TEST_CASE("replies completed in order leave at once", "[reply_queue]") {
  ReplyQueue q;
  common::Buffer out;
  CHECK(q.pending() == 0);
  uint64_t a = q.push(), b = q.push(), c = q.push();
  CHECK(b == a + 1);
  CHECK(c == b + 1);
  CHECK(q.pending() == 3);
  CHECK(q.complete(a, "+A\r\n", out) == 1);
  CHECK(drain(out) == "+A\r\n");
  CHECK(q.pending() == 2);
  CHECK(q.complete(b, "+B\r\n", out) == 1);
  CHECK(q.complete(c, "+C\r\n", out) == 1);
  CHECK(drain(out) == "+B\r\n+C\r\n");
  CHECK(q.pending() == 0);
  CHECK(q.heldBytes() == 0);
}

TEST_CASE("a later reply waits for every earlier one", "[reply_queue]") {
  ReplyQueue q;
  common::Buffer out;
  uint64_t s0 = q.push(), s1 = q.push(), s2 = q.push(), s3 = q.push();
  CHECK(q.complete(s2, "+two\r\n", out) == 0);
  CHECK(q.complete(s1, "+one\r\n", out) == 0);
  CHECK(out.empty());
  CHECK(q.heldBytes() == 12);
  CHECK(q.pending() == 4);
  // The head releases itself and the held run behind it, not the gap at s3.
  CHECK(q.complete(s0, "+zero\r\n", out) == 3);
  CHECK(drain(out) == "+zero\r\n+one\r\n+two\r\n");
  CHECK(q.heldBytes() == 0);
  CHECK(q.pending() == 1);
  // New commands keep numbering after the released ones.
  uint64_t s4 = q.push();
  CHECK(s4 == s3 + 1);
  CHECK(q.complete(s4, "+four\r\n", out) == 0);
  CHECK(q.heldBytes() == 7);
  CHECK(q.complete(s3, "+three\r\n", out) == 2);
  CHECK(drain(out) == "+three\r\n+four\r\n");
  CHECK(q.pending() == 0);
  CHECK(q.heldBytes() == 0);
}

TEST_CASE("random completion orders of 1000 replies keep push order", "[reply_queue]") {
  constexpr uint64_t kCount = 1000;
  for (uint32_t seed : {1u, 2u, 3u, 17u, 4242u}) {
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    ReplyQueue q;
    common::Buffer out;
    std::vector<uint64_t> seqs;
    for (uint64_t i = 0; i < kCount; ++i) seqs.push_back(q.push());
    std::vector<uint64_t> order = seqs;
    std::shuffle(order.begin(), order.end(), rng);

    std::string expected;
    for (uint64_t s : seqs) expected += replyFor(s);

    std::vector<bool> done(kCount, false);
    uint64_t released = 0;  // replies that have left
    size_t held = 0;        // bytes of done replies still waiting
    for (uint64_t s : order) {
      uint64_t index = s - seqs[0];
      done[index] = true;
      held += replyFor(s).size();
      uint64_t before = released;
      while (released < kCount && done[released]) held -= replyFor(seqs[released++]).size();
      REQUIRE(q.complete(s, replyFor(s), out) == released - before);
      REQUIRE(q.heldBytes() == held);
      REQUIRE(q.pending() == kCount - released);
      REQUIRE(out.size() == std::accumulate(seqs.begin(), seqs.begin() + static_cast<long>(released), size_t{0},
                                            [](size_t n, uint64_t x) { return n + replyFor(x).size(); }));
    }
    CHECK(drain(out) == expected);
    CHECK(q.pending() == 0);
    CHECK(q.heldBytes() == 0);
  }
}

TEST_CASE("completing a seq twice, or an unknown seq, is ignored", "[reply_queue]") {
  ReplyQueue q;
  common::Buffer out;
  uint64_t s0 = q.push(), s1 = q.push();
  // Twice while held: the first reply stays, the bytes are counted once.
  CHECK(q.complete(s1, "+first\r\n", out) == 0);
  CHECK(q.complete(s1, "+second answer\r\n", out) == 0);
  CHECK(q.heldBytes() == 8);
  // Unknown: never pushed.
  CHECK(q.complete(s1 + 1, "+ghost\r\n", out) == 0);
  CHECK(q.complete(s1 + 1000, "+ghost\r\n", out) == 0);
  CHECK(q.complete(UINT64_MAX, "+ghost\r\n", out) == 0);
  CHECK(q.pending() == 2);
  CHECK(q.complete(s0, "+zero\r\n", out) == 2);
  CHECK(drain(out) == "+zero\r\n+first\r\n");
  // Twice after it left.
  CHECK(q.complete(s0, "+late\r\n", out) == 0);
  CHECK(q.complete(s1, "+late\r\n", out) == 0);
  CHECK(out.empty());
  CHECK(q.pending() == 0);
  CHECK(q.heldBytes() == 0);
  // A seq reserved later is still honoured after the ignored ones.
  uint64_t s2 = q.push();
  CHECK(s2 == s1 + 1);
  CHECK(q.complete(s2, "+two\r\n", out) == 1);
  CHECK(drain(out) == "+two\r\n");
}

TEST_CASE("empty and large replies", "[reply_queue]") {
  ReplyQueue q;
  common::Buffer out;
  uint64_t s0 = q.push(), s1 = q.push(), s2 = q.push();
  const std::string big(1 << 20, 'v');
  CHECK(q.complete(s2, big, out) == 0);
  CHECK(q.complete(s1, "", out) == 0);  // done, zero bytes: still must wait and then count
  CHECK(q.heldBytes() == big.size());
  CHECK(q.complete(s0, "+ok\r\n", out) == 3);
  CHECK(drain(out) == "+ok\r\n" + big);
  CHECK(q.heldBytes() == 0);
}

TEST_CASE("a silent place keeps its turn and drops its reply", "[reply_queue]") {
  ReplyQueue q;
  common::Buffer out;
  uint64_t a = q.push(), b = q.push(true), c = q.push();
  CHECK(q.complete(c, "+C\r\n", out) == 0);
  CHECK(q.complete(b, "+B\r\n", out) == 0);  // waits behind a, and says nothing
  CHECK(q.heldBytes() == 4);
  CHECK(q.complete(a, "+A\r\n", out) == 3);
  CHECK(drain(out) == "+A\r\n+C\r\n");
  uint64_t d = q.push(true);
  CHECK(q.complete(d, "-ERR x\r\n", out) == 1);
  CHECK(drain(out).empty());
  CHECK(q.pending() == 0);
}

}  // namespace slotgate::session
