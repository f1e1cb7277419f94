// A Dispatcher over fake links and a fake clock, with a two-primary cluster (A: slots 0-8191,
// B: 8192-16383) and a client that records its replies, for unit tests of the request layer.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "proxy/cluster/topology.h"
#include "proxy/request/dispatcher.h"
#include "proxy/request/exclusive_lease.h"
#include "proxy/request/request.h"
#include "test/support/fake_clock.h"
#include "test/support/fake_node_link.h"

namespace slotgate::test {

inline constexpr const char* kHost = "127.0.0.1";
inline constexpr uint16_t kPortA = 7000, kPortB = 7001, kPortC = 7002;
// A read and a write of key "k", as a client sends them.
inline constexpr std::string_view kGet = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
inline constexpr std::string_view kSet = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";

// A client: replies by sequence number, and the order they arrived in.
class RecordingClient : public request::ReplyTarget {
 public:
  void deliver(uint64_t seq, std::string_view reply) override {
    replies[seq] = std::string(reply);
    order.push_back(seq);
  }
  bool has(uint64_t seq) const { return replies.count(seq) > 0; }
  std::map<uint64_t, std::string> replies;
  std::vector<uint64_t> order;
};

// `owner_of_low`: the node serving slots 0-8191 (A's, unless a failover gave them away).
inline cluster::TopologyPtr twoPrimaries(uint16_t owner_of_low = kPortA, bool low_failing = false) {
  auto topology = std::make_shared<cluster::Topology>();
  auto primary = [](const char* id, uint16_t port) {
    cluster::NodeInfo node;
    node.id = id;
    node.host = kHost;
    node.port = port;
    node.primary = true;
    return node;
  };
  cluster::NodeInfo low = primary("low", owner_of_low);
  low.failing = low_failing;
  int a = topology->addNode(low);
  int b = topology->addNode(primary("b", kPortB));
  topology->assign(0, 8191, a);
  topology->assign(8192, 16383, b);
  return topology;
}

struct RequestHarness {
  RequestHarness() {
    request::DispatchOptions options;
    options.failover_wait_ms = 2000;
    dispatcher = std::make_unique<request::Dispatcher>(
        clock, links, options, [this](cluster::RefreshCause, const std::string&) { ++refreshes; }, stats);
    dispatcher->setTopology(twoPrimaries());
    link->target = &client;
  }
  ~RequestHarness() { link->target = nullptr; }

  FakeNodeLink& a() { return links.node(kHost, kPortA); }
  FakeNodeLink& b() { return links.node(kHost, kPortB); }
  request::RequestPtr make(uint64_t seq, std::string_view bytes, int slot, bool readonly) {
    return request::Request::make(*dispatcher, link, seq, bytes, slot, readonly);
  }
  request::RequestPtr send(uint64_t seq, std::string_view bytes, int slot, bool readonly) {
    auto request = make(seq, bytes, slot, readonly);
    dispatcher->dispatch(request);
    return request;
  }

  FakeLinkSource links;  // before the clock: links posted for deletion still find it
  FakeClock clock;
  request::RequestStats stats;
  std::unique_ptr<request::Dispatcher> dispatcher;
  RecordingClient client;
  std::shared_ptr<request::ReplyLink> link = std::make_shared<request::ReplyLink>();
  int refreshes = 0;
};

}  // namespace slotgate::test
