#include "proxy/discovery/topology_tracker.h"

#include <algorithm>

#include "common/log.h"
#include "common/uv/event_loop.h"
#include "proxy/backend/callback_waiter.h"
#include "proxy/cluster/cluster_nodes.h"
#include "proxy/cluster/topology_merge.h"
#include "proxy/cluster/topology_parser.h"
#include "proxy/resp/value.h"

namespace slotgate::discovery {
namespace {

constexpr uint64_t kMinRefreshGapMs = 100;
constexpr uint64_t kBootstrapRetryMs = 500;
constexpr uint64_t kTimeoutSweepMs = 250;
constexpr std::string_view kClusterShards = "*2\r\n$7\r\nCLUSTER\r\n$6\r\nSHARDS\r\n";
constexpr std::string_view kClusterSlots = "*2\r\n$7\r\nCLUSTER\r\n$5\r\nSLOTS\r\n";
constexpr std::string_view kCommand = "*1\r\n$7\r\nCOMMAND\r\n";
constexpr std::string_view kClusterNodes = "*2\r\n$7\r\nCLUSTER\r\n$5\r\nNODES\r\n";
constexpr size_t kMaxGossipNodes = 64;
// While a failed primary still owns slots, look for its successor this often.
constexpr uint64_t kFailoverPollMs = 250;

bool failingWithSlots(const cluster::Topology& topology) {
  for (size_t i = 0; i < topology.nodes().size(); ++i) {
    if (!topology.nodes()[i].failing) continue;
    int count = 0;
    topology.slotRanges(static_cast<int>(i), &count);
    if (count > 0) return true;
  }
  return false;
}

}  // namespace

TopologyTracker::TopologyTracker(common::uv::EventLoop& loop, const config::Config& config,
                                 common::tls::TlsContextPtr tls, PublishFn publish,
                                 PublishCommandsFn publish_commands)
    : loop_(loop), config_(config), tls_(std::move(tls)), publish_(std::move(publish)),
      publish_commands_(std::move(publish_commands)) {}

void TopologyTracker::setTls(common::tls::TlsContextPtr tls) {
  tls_ = std::move(tls);
  if (pool_) pool_->setOptions(backend::backendOptions(config_, 2, tls_));
}

TopologyTracker::~TopologyTracker() = default;

void TopologyTracker::start() {
  pool_ = std::make_unique<backend::BackendPool>(loop_, backend::backendOptions(config_, 2, tls_));
  periodic_ = std::make_unique<common::uv::Timer>(loop_);
  deferred_ = std::make_unique<common::uv::Timer>(loop_);
  periodic_->start(config_.refresh_interval_ms, config_.refresh_interval_ms,
                   [this] { requestRefresh(cluster::RefreshCause::kPeriodic, "periodic"); });
  failover_poll_ = std::make_unique<common::uv::Timer>(loop_);
  failover_poll_->start(kFailoverPollMs, kFailoverPollMs, [this] {
    if (current_ && failingWithSlots(*current_)) {
      requestRefresh(cluster::RefreshCause::kNodeError, "waiting for a failover");
    }
  });
  sweep_ = std::make_unique<common::uv::Timer>(loop_);
  sweep_->start(kTimeoutSweepMs, kTimeoutSweepMs, [this] { pool_->checkTimeouts(loop_.nowMs()); });
  stats_.refreshes_bootstrap.add();
  beginRefresh("bootstrap");
}

void TopologyTracker::stop() {
  stopped_ = true;
  ++generation_;
  periodic_.reset();
  deferred_.reset();
  sweep_.reset();
  failover_poll_.reset();
  pool_.reset();
}

void TopologyTracker::requestRefresh(cluster::RefreshCause cause, const std::string& reason,
                                     const std::string& prefer_host, uint16_t prefer_port) {
  if (stopped_) return;
  switch (cause) {
    case cluster::RefreshCause::kBootstrap:
      stats_.refreshes_bootstrap.add();
      break;
    case cluster::RefreshCause::kPeriodic:
      stats_.refreshes_periodic.add();
      break;
    case cluster::RefreshCause::kRedirect:
      stats_.refreshes_redirect.add();
      break;
    case cluster::RefreshCause::kNodeError:
      stats_.refreshes_node_error.add();
      break;
    case cluster::RefreshCause::kGossip:
      stats_.refreshes_gossip.add();
      break;
  }
  std::optional<Candidate> prefer;
  if (!prefer_host.empty()) prefer = Candidate{prefer_host, prefer_port};
  if (refreshing_) {
    again_ = true;
    again_reason_ = reason;
    if (prefer) again_prefer_ = prefer;
    return;
  }
  if (prefer) prefer_ = prefer;
  uint64_t since = loop_.nowMs() - last_refresh_start_ms_;
  if (since < kMinRefreshGapMs) {
    if (!deferred_->active()) {
      deferred_->start(kMinRefreshGapMs - since, 0, [this, reason] { beginRefresh(reason); });
    }
    return;
  }
  beginRefresh(reason);
}

void TopologyTracker::beginRefresh(const std::string& reason) {
  if (stopped_ || refreshing_) return;
  refreshing_ = true;
  last_refresh_start_ms_ = loop_.nowMs();
  ++generation_;
  common::logger("cluster")->debug("refreshing topology ({})", reason);
  candidates_.clear();
  next_candidate_ = 0;
  auto add = [this](const std::string& host, uint16_t port) {
    for (const Candidate& c : candidates_) {
      if (c.host == host && c.port == port) return;
    }
    candidates_.push_back({host, port});
  };
  if (prefer_) add(prefer_->host, prefer_->port);
  prefer_.reset();
  if (current_) {
    // Primaries first, starting at a different one each time, then replicas.
    std::vector<const cluster::NodeInfo*> primaries, replicas;
    for (const cluster::NodeInfo& node : current_->nodes()) (node.primary ? primaries : replicas).push_back(&node);
    if (!primaries.empty()) {
      std::rotate(primaries.begin(), primaries.begin() + static_cast<long>(rotation_++ % primaries.size()),
                  primaries.end());
    }
    for (const cluster::NodeInfo* node : primaries) add(node->host, node->port);
    for (const cluster::NodeInfo* node : replicas) add(node->host, node->port);
  }
  for (const Candidate& node : gossip_nodes_) add(node.host, node.port);
  for (const config::Address& seed : config_.seeds) add(seed.host, seed.port);
  askNext();
}

void TopologyTracker::askNext() {
  if (next_candidate_ >= candidates_.size()) {
    if (!current_) {
      if (!warned_no_seed_) {
        common::logger("cluster")->warn("no seed node answered with a usable cluster map; retrying");
        warned_no_seed_ = true;
      }
      endRefresh();
      if (!deferred_->active())
        deferred_->start(kBootstrapRetryMs, 0, [this] { beginRefresh("bootstrap retry"); });
      return;
    }
    common::logger("cluster")->warn("topology refresh failed: no known node answered");
    stats_.refreshes_failed.add();
    endRefresh();
    return;
  }
  ask(candidates_[next_candidate_++], false);
}

void TopologyTracker::ask(const Candidate& node, bool use_slots) {
  uint64_t generation = generation_;
  auto waiter = backend::CallbackWaiter::make(
      [this, node, use_slots, generation](std::string_view reply) {
        if (generation == generation_) onReply(node, use_slots, reply);
      },
      [this, generation](backend::Failure, const std::string& address, const std::string& detail) {
        if (generation == generation_) onAttemptFailed(address + ": " + detail);
      });
  pool_->get(node.host, node.port).send(waiter, use_slots ? kClusterSlots : kClusterShards);
}

void TopologyTracker::onReply(const Candidate& node, bool used_slots, std::string_view reply) {
  auto value = resp::decodeValue(reply);
  std::string where = node.host + ":" + std::to_string(node.port);
  if (!value) return onAttemptFailed(where + ": unparsable reply");
  if (value->type == resp::Value::Type::kError) {
    bool unknown = value->str.find("unknown") != std::string::npos;
    if (!used_slots && unknown) return ask(node, true);  // before Redis 7.0: CLUSTER SLOTS
    return onAttemptFailed(where + ": " + value->str);
  }
  std::string error;
  auto topology = used_slots ? cluster::parseClusterSlots(*value, node.host, &error)
                             : cluster::parseClusterShards(*value, node.host, &error, config_.backend_tls.enabled);
  if (!topology) return onAttemptFailed(where + ": " + error);
  if (topology->coveredSlots() == 0) return onAttemptFailed(where + ": serves no slots");
  annotateAndAdopt(node, std::move(*topology));
}

void TopologyTracker::annotateAndAdopt(const Candidate& node, cluster::Topology topology) {
  uint64_t generation = generation_;
  auto finish = [this, node, generation](cluster::Topology topology, std::string_view nodes_reply) {
    if (generation != generation_) return;
    std::string error;
    std::vector<cluster::ClusterNodesEntry> entries;
    auto value = resp::decodeValue(nodes_reply);
    if (value && value->isString() && cluster::parseClusterNodes(value->str, &entries, &error)) {
      cluster::annotate(topology, entries);
    } else {
      // Without epochs the answer simply wins, as it always did.
      common::logger("cluster")->debug("no usable CLUSTER NODES from {}:{}: {}", node.host, node.port,
                                       value && !value->isString() ? value->str : error);
    }
    int self = topology.findByAddress(node.host, node.port);
    std::string answering_id = self >= 0 ? topology.nodes()[static_cast<size_t>(self)].id : std::string();
    applyObserved(topology);
    cluster::MergeResult merged = cluster::mergeByEpoch(current_.get(), std::move(topology), answering_id);
    if (merged.kept_slots > 0) {
      stats_.stale_claims_kept.add(static_cast<uint64_t>(merged.kept_slots));
      common::logger("cluster")->info("{}:{} answered with an older owner for {} slot(s); kept the newer claim",
                                      node.host, node.port, merged.kept_slots);
    }
    adopt(std::make_shared<cluster::Topology>(std::move(merged.topology)), node);
    endRefresh();
  };
  auto shared = std::make_shared<cluster::Topology>(std::move(topology));
  auto waiter = backend::CallbackWaiter::make(
      [finish, shared](std::string_view reply) { finish(std::move(*shared), reply); },
      [finish, shared](backend::Failure, const std::string&, const std::string&) {
        finish(std::move(*shared), {});
      });
  pool_->get(node.host, node.port).send(waiter, kClusterNodes);
}

void TopologyTracker::applyObserved(cluster::Topology& topology) const {
  for (size_t i = 0; i < topology.nodes().size(); ++i) {
    cluster::NodeInfo& node = topology.node(static_cast<int>(i));
    auto it = observed_.find(node.id);
    if (it != observed_.end()) node.failing = it->second && node.primary;
  }
}

void TopologyTracker::setFailing(const std::string& id, bool failing) {
  if (stopped_) return;
  auto [it, inserted] = observed_.try_emplace(id, failing);
  if (!inserted && it->second == failing) return;
  it->second = failing;
  if (!current_) return;
  int index = current_->findById(id);
  if (index < 0) return;
  const cluster::NodeInfo& node = current_->nodes()[static_cast<size_t>(index)];
  bool now = failing && node.primary;
  if (node.failing == now) return;
  auto copy = std::make_shared<cluster::Topology>(*current_);
  copy->node(index).failing = now;
  int slots = 0;
  std::string ranges = copy->slotRanges(index, &slots);
  if (now) {
    stats_.failovers_observed.add();
    common::logger("cluster")->warn(
        "primary {} ({}) failed; holding requests for its {} slot(s) until a replica "
        "takes over",
        node.address(), id.substr(0, 8), slots);
  } else {
    common::logger("cluster")->info("node {} ({}) answers again", node.address(), id.substr(0, 8));
  }
  current_ = std::move(copy);
  publishNow();
  requestRefresh(cluster::RefreshCause::kGossip, now ? "primary failed" : "node back");
}

void TopologyTracker::addKnownNode(const std::string& host, uint16_t port) {
  for (const Candidate& c : gossip_nodes_) {
    if (c.host == host && c.port == port) return;
  }
  if (gossip_nodes_.size() >= kMaxGossipNodes) gossip_nodes_.erase(gossip_nodes_.begin());
  gossip_nodes_.push_back({host, port});
}

void TopologyTracker::publishNow() {
  stats_.topology_changes.add();
  publish_(current_);
  // Connections to nodes that left the cluster close once idle.
  auto topology = current_;
  pool_->closeIdleUnless([&topology](const backend::BackendConnection& conn) {
    return topology->findByAddress(conn.host(), conn.port()) >= 0;
  });
}

void TopologyTracker::onAttemptFailed(const std::string& why) {
  common::logger("cluster")->debug("topology query failed: {}", why);
  last_failure_ = why;
  askNext();
}

void TopologyTracker::adopt(std::shared_ptr<cluster::Topology> topology, const Candidate& from) {
  if (current_ && current_->sameView(*topology)) return;
  if (current_ && current_->sameSlotMap(*topology)) {
    // Roles, epochs or flags changed, not the slots: publish quietly.
    current_ = std::move(topology);
    publishNow();
    return;
  }
  if (current_) {
    for (size_t i = 0; i < current_->nodes().size(); ++i) {
      const cluster::NodeInfo& old = current_->nodes()[i];
      int count = 0;
      current_->slotRanges(static_cast<int>(i), &count);
      int now = topology->findById(old.id);
      int left = 0;
      if (now >= 0) topology->slotRanges(now, &left);
      if (old.failing && count > 0 && left == 0) {
        stats_.failovers_completed.add();
        common::logger("cluster")->info("the slots of failed primary {} have a new owner", old.address());
      }
    }
  }
  auto log = common::logger("cluster");
  log->info("topology from {}:{}: {} nodes, {} primaries, {}/{} slots covered: {}", from.host, from.port,
            topology->nodes().size(), topology->primaryCount(), topology->coveredSlots(), cluster::kSlots,
            topology->describe());
  bool first = !current_;
  current_ = std::move(topology);
  last_failure_.clear();
  warned_no_seed_ = false;
  if (first) {
    // Learn the nodes' commands before serving, so no client meets a command not learned yet.
    learnCommands(from, [this] { publishNow(); });
  } else {
    publishNow();
    learnCommands(from, [] {});
  }
}

void TopologyTracker::learnCommands(const Candidate& from, std::function<void()> then) {
  auto waiter = backend::CallbackWaiter::make(
      [this, from, then](std::string_view reply) {
        if (stopped_) return;
        learnFrom(from, reply);
        then();
      },
      [this, from, then](backend::Failure, const std::string&, const std::string& detail) {
        if (stopped_) return;
        common::logger("cluster")->warn("cannot read COMMAND from {}:{}: {}", from.host, from.port, detail);
        then();
      });
  pool_->get(from.host, from.port).send(waiter, kCommand);
}

void TopologyTracker::learnFrom(const Candidate& from, std::string_view reply) {
  auto value = resp::decodeValue(reply);
  std::string error = value ? "" : "unparsable reply";
  std::optional<command::LearnedCommands> learned;
  if (value && value->type != resp::Value::Type::kError) {
    learned = command::LearnedCommands::fromCommandReply(*value, &error);
  } else if (value) {
    error = value->str;
  }
  if (!learned) {
    common::logger("cluster")->warn("cannot read COMMAND from {}:{}: {}", from.host, from.port, error);
    return;
  }
  std::vector<std::string> names = learned->names();
  if (names == learned_names_) return;
  learned_names_ = names;
  std::string list;
  for (const std::string& name : names) list += (list.empty() ? "" : " ") + name;
  common::logger("cluster")->info("learned {} command(s) the table lacks from {}:{}: {}", names.size(), from.host,
                                  from.port, list.empty() ? "(none)" : list);
  publish_commands_(std::make_shared<const command::LearnedCommands>(std::move(*learned)));
}

void TopologyTracker::endRefresh() {
  refreshing_ = false;
  if (again_) {
    again_ = false;
    if (again_prefer_) prefer_ = again_prefer_;
    again_prefer_.reset();
    uint64_t since = loop_.nowMs() - last_refresh_start_ms_;
    if (since < kMinRefreshGapMs) {
      if (!deferred_->active()) {
        deferred_->start(kMinRefreshGapMs - since, 0, [this, reason = again_reason_] { beginRefresh(reason); });
      }
    } else {
      beginRefresh(again_reason_);
    }
  }
}

}  // namespace slotgate::discovery
