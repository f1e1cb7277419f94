#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "proxy/request/multi_request.h"

using slotgate::request::MultiRequest;
using slotgate::request::PartLabel;
using slotgate::request::ReplyLink;
using slotgate::request::ReplyTarget;

namespace {

struct Recorder : ReplyTarget {
  std::vector<std::pair<uint64_t, std::string>> got;
  void deliver(uint64_t seq, std::string_view reply) override { got.emplace_back(seq, std::string(reply)); }
};

// Joins the parts in part order, so the test sees whether order survived.
std::string join(std::span<const std::string> parts) {
  std::string out;
  for (const auto& p : parts) out += p;
  return out;
}

}  // namespace

TEST_CASE("parts completing in any order are merged in part order, once", "[multi]") {
  std::mt19937 rng(11);
  for (int round = 0; round < 50; ++round) {
    Recorder client;
    auto link = std::make_shared<ReplyLink>(ReplyLink{&client});
    std::vector<PartLabel> names(8);
    for (size_t i = 0; i < names.size(); ++i) names[i] = {static_cast<int>(i), {}};
    auto multi = std::make_shared<MultiRequest>(link, 77, names, join, false);
    std::vector<size_t> order(names.size());
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t k = 0; k < order.size(); ++k) {
      auto part_link = multi->partLink();
      part_link->target->deliver(order[k], ":" + std::to_string(order[k]) + "\r\n");
      CHECK(client.got.size() == (k + 1 == order.size() ? 1u : 0u));
    }
    multi->deliver(order[0], ":99\r\n");  // a duplicate completion changes nothing
    REQUIRE(client.got.size() == 1);
    CHECK(client.got[0].first == 77);
    CHECK(client.got[0].second == ":0\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n:6\r\n:7\r\n");
  }
}

TEST_CASE("a failed part fails the whole command and says which part", "[multi]") {
  Recorder client;
  auto link = std::make_shared<ReplyLink>(ReplyLink{&client});
  auto multi = std::make_shared<MultiRequest>(link, 5, std::vector<PartLabel>{{10, {}}, {20, {}}}, join, false);
  multi->deliver(1, "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
  multi->deliver(0, "+OK\r\n");
  REQUIRE(client.got.size() == 1);
  CHECK(client.got[0].second ==
        "-OOM command not allowed when used memory > 'maxmemory'. (slotgate: part 2 of 2 failed: keys in slot "
        "20)\r\n");
}

TEST_CASE("a client that left gets nothing; the parts keep the merge alive", "[multi]") {
  Recorder client;
  auto link = std::make_shared<ReplyLink>(ReplyLink{&client});
  auto part_link = [&] {
    auto multi = std::make_shared<MultiRequest>(link, 1, std::vector<PartLabel>{{-1, "a:1"}}, join, false);
    return multi->partLink();
  }();
  link->target = nullptr;                    // the session went away
  part_link->target->deliver(0, "+OK\r\n");  // still safe: the part's link owns the merge
  CHECK(client.got.empty());
}

TEST_CASE("the same error from every part is passed on as the node wrote it", "[multi]") {
  Recorder client;
  auto link = std::make_shared<ReplyLink>(ReplyLink{&client});
  auto one = std::make_shared<MultiRequest>(link, 1, std::vector<PartLabel>{{-1, "a:1"}}, join, false);
  one->deliver(0, "-ERR syntax error\r\n");
  auto three = std::make_shared<MultiRequest>(
      link, 2, std::vector<PartLabel>{{-1, "a:1"}, {-1, "b:1"}, {-1, "c:1"}}, join, false);
  for (uint64_t i = 0; i < 3; ++i) three->deliver(i, "-ERR syntax error\r\n");
  REQUIRE(client.got.size() == 2);
  CHECK(client.got[0].second == "-ERR syntax error\r\n");
  CHECK(client.got[1].second == "-ERR syntax error\r\n");
}
