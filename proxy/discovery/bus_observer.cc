#include "proxy/discovery/bus_observer.h"

#include <algorithm>
#include <vector>

#include "common/log.h"
#include "common/retry_policy.h"
#include "common/uv/error_text.h"
#include "common/uv/event_loop.h"
#include "proxy/discovery/topology_tracker.h"

namespace slotgate::discovery {
namespace {

constexpr uint16_t kBusPortOffset = 10000;
// Gossip about a node being down counts for this long after it was last heard.
constexpr uint64_t kGossipMemoryMs = 5000;

}  // namespace

// One node's bus connection and what it has shown so far.
class BusObserver::Link : public common::uv::TcpConnection::Handler {
 public:
  Link(BusObserver& owner, std::string id, std::string host, uint16_t port, uint16_t cport)
      : owner_(owner), id_(std::move(id)), host_(std::move(host)), port_(port), cport_(cport) {}
  ~Link() override {
    *alive_ = false;
    disconnect();
  }

  void tick(uint64_t now) {
    if (!conn_) {
      if (now >= retry_at_ms_) connect();
      return;
    }
    if (connecting_) return;
    conn_->write(owner_.ping_);
    owner_.tracker_.stats().gossip_pings_sent.add();
  }

  void disconnect() {
    if (conn_) conn_->close();
    conn_ = nullptr;
    connecting_ = false;
  }

  const std::string& id() const { return id_; }
  std::string address() const { return host_ + ":" + std::to_string(cport_); }
  uint16_t cport() const { return cport_; }
  bool everAnswered() const { return last_pong_ms_ != 0; }
  uint64_t lastPongMs() const { return last_pong_ms_; }
  bool refused() const { return refused_; }
  bool reportedFailing() const { return reported_failing_; }
  void setReportedFailing(bool failing) { reported_failing_ = failing; }

 private:
  void connect() {
    connecting_ = true;
    conn_ = common::uv::TcpConnection::connect(owner_.loop_, host_, cport_, owner_.connect_timeout_ms_, this);
    if (conn_ && owner_.tls_) conn_->setFilter(owner_.tls_->newFilter(host_));
  }

  void linkFailed(const std::string& what, int status) {
    std::string reason = status ? (conn_ ? conn_->failureText(status) : common::uv::errorText(status))
                                : "closed by the node";
    conn_ = nullptr;
    connecting_ = false;
    // The one retry curve; ticks come every probe interval, so no sooner than the next one.
    retry_at_ms_ = owner_.loop_.nowMs() + common::RetryPolicy::backoffMs(++failures_);
    owner_.tracker_.stats().gossip_link_failures.add();
    // A TLS failure is a setting to fix, not a node going down: say so louder.
    bool tls_failure = status == common::uv::TcpConnection::kFilterFailed;
    common::logger("cluster")->log(
        logged_ ? spdlog::level::debug : (tls_failure ? spdlog::level::warn : spdlog::level::info),
        "cluster bus of {}: {}: {}{}", address(), what, reason,
        tls_failure ? " (gossip from this node is off until it succeeds)" : "");
    logged_ = true;
    owner_.last_error_ = address() + ": " + what + ": " + reason;
    owner_.evaluate(*this);
  }

  void onConnected(int status) override {
    if (status != 0) {
      // A refused TLS handshake says nothing about the node being down.
      if (status != common::uv::TcpConnection::kFilterFailed) refused_ = true;
      return linkFailed("cannot connect", status);
    }
    connecting_ = false;
    answered_here_ = false;
    conn_->startReading();
    conn_->write(owner_.ping_);
    owner_.tracker_.stats().gossip_pings_sent.add();
  }

  void onRead(common::Buffer& in) override {
    std::vector<cluster::BusPacket> pongs;
    while (!in.empty()) {
      std::string error;
      long length = cluster::busFrameLength(in.readable(), &error);
      if (length == 0 || (length > 0 && in.size() < static_cast<size_t>(length))) return;
      cluster::BusPacket packet;
      if (length < 0 ||
          !cluster::parseBusPacket(in.readable().substr(0, static_cast<size_t>(length)), &packet, &error)) {
        owner_.tracker_.stats().gossip_bad_packets.add();
        common::logger("cluster")->warn(
            "cluster bus of {} sent a packet that does not parse ({}); closing the link", address(), error);
        disconnect();
        retry_at_ms_ = owner_.loop_.nowMs() + common::RetryPolicy::kMaxBackoffMs;
        return;
      }
      in.consume(static_cast<size_t>(length));
      if (packet.type == cluster::bus::kPong) pongs.push_back(std::move(packet));
    }
    for (const cluster::BusPacket& packet : pongs) {
      if (last_pong_ms_ == 0 || refused_) {
        common::logger("cluster")->info("cluster bus of {} answers: node {}, config epoch {}, {} slots", address(),
                                        packet.sender.substr(0, 8), packet.config_epoch, packet.slotCount());
      }
      refused_ = false;
      answered_here_ = true;
      failures_ = 0;
      logged_ = false;
      last_pong_ms_ = owner_.loop_.nowMs();
      owner_.tracker_.stats().gossip_pongs_received.add();
      // May end up dropping this very link (the node left the map).
      std::shared_ptr<bool> alive = alive_;
      owner_.onPong(*this, packet);
      if (!*alive) return;
    }
  }

  void onClosed(int status) override {
    // Closed before any PONG on this link: the port does not speak our bus (a TLS bus reached in
    // plain text, or the reverse, or a refused handshake). Back off like a refused connect
    // instead of redialing at once.
    if (status == common::uv::TcpConnection::kFilterFailed) return linkFailed("TLS failed", status);
    if (!answered_here_) {
      return linkFailed(owner_.tls_
                            ? "closed before answering over TLS"
                            : "closed before answering (an encrypted bus, tls-cluster yes? set backend.tls)",
                        status);
    }
    // A node that dies closes our link first; a refused reconnect then tells it is down.
    std::string reason = status ? conn_->failureText(status) : "by the node";
    conn_ = nullptr;
    connecting_ = false;
    retry_at_ms_ = 0;
    common::logger("cluster")->debug("cluster bus of {} closed: {}", address(), reason);
    connect();
  }

  BusObserver& owner_;
  std::string id_;
  std::string host_;
  uint16_t port_;
  uint16_t cport_;
  common::uv::TcpConnection* conn_ = nullptr;
  bool connecting_ = false;
  bool refused_ = false;
  bool logged_ = false;
  bool answered_here_ = false;  // a PONG came on the current connection
  bool reported_failing_ = false;
  uint64_t last_pong_ms_ = 0;
  uint64_t retry_at_ms_ = 0;
  unsigned failures_ = 0;  // connects or links failed in a row
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

BusObserver::BusObserver(common::uv::EventLoop& loop, const config::Config& config, TopologyTracker& tracker)
    : loop_(loop), interval_ms_(config.gossip_interval_ms), connect_timeout_ms_(config.connect_timeout_ms),
      tracker_(tracker), sender_id_(cluster::randomNodeId()), ping_(cluster::buildBusPing(sender_id_, 0, 0)),
      want_tls_(config.gossip_tls == "on" || (config.gossip_tls == "auto" && config.backend_tls.enabled)) {}

void BusObserver::setTls(common::tls::TlsContextPtr tls) { tls_ = want_tls_ ? std::move(tls) : nullptr; }

std::string BusObserver::status() const {
  if (stopped_) return "off: stopped";
  if (want_tls_ && !tls_) return "off: topology.gossip_tls is on but backend.tls is not enabled";
  uint64_t now = loop_.nowMs();
  uint64_t recent = std::max<uint64_t>(3 * interval_ms_, 1000);
  for (const auto& [key, link] : links_) {
    if (link->everAnswered() && now - link->lastPongMs() <= recent) return tls_ ? "on (TLS)" : "on";
  }
  if (links_.empty()) return "starting";
  return "no cluster bus answers" + (last_error_.empty() ? std::string() : " (" + last_error_ + ")");
}

BusObserver::~BusObserver() { stop(); }

void BusObserver::start() {
  timer_ = std::make_unique<common::uv::Timer>(loop_);
  timer_->start(interval_ms_, interval_ms_, [this] { tick(); });
  common::logger("cluster")->info("watching the cluster bus every {} ms as {}{}", interval_ms_, sender_id_,
                                  tls_ ? " over TLS" : "");
  if (want_tls_ && !tls_) {
    common::logger("cluster")->warn("gossip is off: topology.gossip_tls is on but backend.tls is not enabled");
  }
}

void BusObserver::stop() {
  stopped_ = true;
  timer_.reset();
  links_.clear();
}

void BusObserver::onTopology(const cluster::TopologyPtr& topology) {
  if (stopped_) return;
  topology_ = topology;
  std::unordered_map<std::string, std::unique_ptr<Link>> links;
  for (const cluster::NodeInfo& node : topology->nodes()) {
    std::string key = node.id.empty() ? node.address() : node.id;
    uint16_t cport = node.cport ? node.cport : static_cast<uint16_t>(node.port + kBusPortOffset);
    auto it = links_.find(key);
    if (it != links_.end() && it->second->cport() == cport) {
      links.emplace(key, std::move(it->second));
      links_.erase(it);
      continue;
    }
    auto link = std::make_unique<Link>(*this, node.id, node.host, node.port, cport);
    link->tick(loop_.nowMs());
    links.emplace(key, std::move(link));
  }
  // What is left belongs to nodes that left the cluster: their links close with them.
  links_.swap(links);
}

void BusObserver::tick() {
  uint64_t now = loop_.nowMs();
  // A verdict may publish a new map, which rebuilds links_: walk a copy of the keys.
  std::vector<std::string> keys;
  keys.reserve(links_.size());
  for (const auto& [key, link] : links_) keys.push_back(key);
  for (const std::string& key : keys) {
    auto it = links_.find(key);
    if (it == links_.end()) continue;
    it->second->tick(now);
    it = links_.find(key);
    if (it != links_.end()) evaluate(*it->second);
  }
}

bool BusObserver::gossipSaysDown(const std::string& id, uint64_t now) const {
  auto it = gossip_down_ms_.find(id);
  return it != gossip_down_ms_.end() && now - it->second < kGossipMemoryMs;
}

void BusObserver::evaluate(Link& link) {
  if (link.id().empty() || !link.everAnswered()) return;  // never seen alive: no verdict
  uint64_t now = loop_.nowMs();
  bool silent = now - link.lastPongMs() > std::max<uint64_t>(3 * interval_ms_, 1000);
  bool failing = link.refused() || (silent && gossipSaysDown(link.id(), now));
  if (failing == link.reportedFailing()) return;
  link.setReportedFailing(failing);
  tracker_.setFailing(link.id(), failing);
}

void BusObserver::onPong(Link& link, const cluster::BusPacket& packet) {
  uint64_t now = loop_.nowMs();
  std::string id = link.id();
  for (const cluster::BusGossip& entry : packet.gossip) {
    if (entry.flags & (cluster::bus::kFlagHandshake | cluster::bus::kFlagNoAddr)) continue;
    if (entry.flags & (cluster::bus::kFlagFail | cluster::bus::kFlagPFail)) gossip_down_ms_[entry.id] = now;
    if (!entry.ip.empty() && entry.port) tracker_.addKnownNode(entry.ip, entry.port);
  }
  gossip_down_ms_.erase(packet.sender);
  if (link.reportedFailing()) evaluate(link);

  // Does the map agree with what this node says of itself?
  cluster::TopologyPtr topology = topology_;
  if (!topology || !packet.master()) return;
  int index = topology->findById(packet.sender);
  std::string why;
  if (index < 0) {
    if (packet.slotCount() > 0) why = "a primary the map lacks claims slots";
  } else {
    const cluster::NodeInfo& node = topology->nodes()[static_cast<size_t>(index)];
    if (node.config_epoch != 0 && packet.config_epoch > node.config_epoch) {
      why = "config epoch " + std::to_string(node.config_epoch) + " -> " + std::to_string(packet.config_epoch);
    } else {
      for (int slot = 0; slot < cluster::kSlots && why.empty(); ++slot) {
        if (packet.servesSlot(slot) != (topology->ownerOf(slot) == index)) {
          why = "slot " + std::to_string(slot) + (packet.servesSlot(slot) ? " claimed" : " given up");
        }
      }
    }
  }
  if (why.empty()) return;
  const cluster::NodeInfo* node = index >= 0 ? &topology->nodes()[static_cast<size_t>(index)] : nullptr;
  std::string host = node ? node->host : packet.ip;
  uint16_t port = node ? node->port : packet.port;
  common::logger("cluster")->debug("bus: {} ({}) differs from the map: {}", id.substr(0, 8),
                                   host + ":" + std::to_string(port), why);
  tracker_.requestRefresh(cluster::RefreshCause::kGossip, "gossip: " + why, host, port);
}

}  // namespace slotgate::discovery
