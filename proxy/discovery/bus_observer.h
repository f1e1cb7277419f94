// The cluster-bus observer, on the control loop next to the topology tracker. It keeps one TCP
// connection to each known node's cluster-bus port (@cport, else port + 10000) and sends a PING
// every gossip_interval_ms from a random sender id, with no slots and no gossip: a node answers a
// PING from a sender it does not know with a PONG and does not add the sender (only MEET would,
// and the observer never sends MEET). From the PONGs it learns, ahead of any poll:
//  - a primary whose slot claim or config epoch differs from the map: a refresh, asked of it first;
//  - a primary that failed: its bus port refusing connections after it used to answer, or its
//    PONGs missing while other nodes gossip PFAIL/FAIL about it. The tracker then marks it failing
//    and the workers hold requests for its slots until a replica takes over. A PONG from it again
//    lifts the mark.
// A packet that does not parse closes that link (logged, counted); nothing here can stop the proxy.
// With backend.tls on (or topology.gossip_tls: on) the links speak TLS, as the bus of a cluster with
// tls-cluster yes requires (with a client certificate: backend.tls.cert_file). A TLS handshake that
// fails is logged once per link with its reason and never counts as the node being down;
// status() says what the observer sees, for /topology.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/tls/tls_context.h"
#include "common/uv/tcp_connection.h"
#include "common/uv/timer.h"
#include "config/config.h"
#include "proxy/cluster/bus_packet.h"
#include "proxy/cluster/topology.h"

namespace slotgate::common::uv {
class EventLoop;
}

namespace slotgate::discovery {

class TopologyTracker;

class BusObserver {
 public:
  BusObserver(common::uv::EventLoop& loop, const config::Config& config, TopologyTracker& tracker);
  ~BusObserver();
  BusObserver(const BusObserver&) = delete;
  BusObserver& operator=(const BusObserver&) = delete;

  void start();
  void stop();
  // Each snapshot the tracker publishes: links follow the set of nodes.
  void onTopology(const cluster::TopologyPtr& topology);

  const std::string& senderId() const { return sender_id_; }
  // Whether the links speak TLS: `tls` when the configuration asks for it (reload: new links).
  void setTls(common::tls::TlsContextPtr tls);
  // "on", "on (TLS)", or why no bus answers: "no cluster bus answers (127.0.0.1:17000: ...)".
  std::string status() const;

 private:
  class Link;
  friend class Link;

  void tick();
  void onPong(Link& link, const cluster::BusPacket& packet);
  void evaluate(Link& link);
  bool gossipSaysDown(const std::string& id, uint64_t now) const;

  common::uv::EventLoop& loop_;
  uint64_t interval_ms_;
  uint64_t connect_timeout_ms_;
  TopologyTracker& tracker_;
  std::string sender_id_;
  std::string ping_;
  std::unique_ptr<common::uv::Timer> timer_;
  cluster::TopologyPtr topology_;
  std::unordered_map<std::string, std::unique_ptr<Link>> links_;  // by node id (or address)
  std::unordered_map<std::string, uint64_t> gossip_down_ms_;      // id -> last PFAIL/FAIL heard
  bool stopped_ = false;
  bool want_tls_ = false;  // topology.gossip_tls
  common::tls::TlsContextPtr tls_;
  std::string last_error_;  // the last link failure, for status()
};

}  // namespace slotgate::discovery
