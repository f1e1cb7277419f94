#include "proxy/cluster/topology_tracker.h"

#include <algorithm>

#include "common/log.h"
#include "common/uv/event_loop.h"
#include "proxy/backend/callback_waiter.h"
#include "proxy/cluster/topology_parser.h"
#include "proxy/resp/value.h"

namespace slotgate::cluster {
namespace {

constexpr uint64_t kMinRefreshGapMs = 100;
constexpr uint64_t kBootstrapRetryMs = 500;
constexpr uint64_t kTimeoutSweepMs = 250;
constexpr std::string_view kClusterShards = "*2\r\n$7\r\nCLUSTER\r\n$6\r\nSHARDS\r\n";
constexpr std::string_view kClusterSlots = "*2\r\n$7\r\nCLUSTER\r\n$5\r\nSLOTS\r\n";
constexpr std::string_view kCommand = "*1\r\n$7\r\nCOMMAND\r\n";

}  // namespace

TopologyTracker::TopologyTracker(common::uv::EventLoop& loop, const config::Config& config, PublishFn publish,
                                 PublishCommandsFn publish_commands)
    : loop_(loop), config_(config), publish_(std::move(publish)), publish_commands_(std::move(publish_commands)) {}

TopologyTracker::~TopologyTracker() = default;

void TopologyTracker::start() {
  pool_ = std::make_unique<backend::BackendPool>(
      loop_, backend::backendOptions(config_, 2));
  periodic_ = std::make_unique<common::uv::Timer>(loop_);
  deferred_ = std::make_unique<common::uv::Timer>(loop_);
  periodic_->start(config_.refresh_interval_ms, config_.refresh_interval_ms,
                   [this] { requestRefresh("periodic"); });
  sweep_ = std::make_unique<common::uv::Timer>(loop_);
  sweep_->start(kTimeoutSweepMs, kTimeoutSweepMs, [this] { pool_->checkTimeouts(loop_.nowMs()); });
  beginRefresh("bootstrap");
}

void TopologyTracker::stop() {
  stopped_ = true;
  ++generation_;
  periodic_.reset();
  deferred_.reset();
  sweep_.reset();
  pool_.reset();
}

void TopologyTracker::requestRefresh(const std::string& reason) {
  if (stopped_) return;
  if (refreshing_) {
    again_ = true;
    again_reason_ = reason;
    return;
  }
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
  if (current_) {
    // Primaries first, starting at a different one each time, then replicas.
    std::vector<const NodeInfo*> primaries, replicas;
    for (const NodeInfo& node : current_->nodes()) (node.primary ? primaries : replicas).push_back(&node);
    if (!primaries.empty()) {
      std::rotate(primaries.begin(), primaries.begin() + static_cast<long>(rotation_++ % primaries.size()),
                  primaries.end());
    }
    for (const NodeInfo* node : primaries) add(node->host, node->port);
    for (const NodeInfo* node : replicas) add(node->host, node->port);
  }
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
      if (!deferred_->active()) deferred_->start(kBootstrapRetryMs, 0, [this] { beginRefresh("bootstrap retry"); });
      return;
    }
    common::logger("cluster")->warn("topology refresh failed: no known node answered");
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
  auto topology = used_slots ? parseClusterSlots(*value, node.host, &error)
                             : parseClusterShards(*value, node.host, &error);
  if (!topology) return onAttemptFailed(where + ": " + error);
  if (topology->coveredSlots() == 0) return onAttemptFailed(where + ": serves no slots");
  adopt(std::make_shared<Topology>(std::move(*topology)), node);
  endRefresh();
}

void TopologyTracker::onAttemptFailed(const std::string& why) {
  common::logger("cluster")->debug("topology query failed: {}", why);
  askNext();
}

void TopologyTracker::adopt(std::shared_ptr<Topology> topology, const Candidate& from) {
  if (current_ && current_->sameSlotMap(*topology)) {
    current_ = std::move(topology);
    return;
  }
  auto log = common::logger("cluster");
  log->info("topology from {}:{}: {} nodes, {} primaries, {}/{} slots covered: {}", from.host, from.port,
            topology->nodes().size(), topology->primaryCount(), topology->coveredSlots(), kSlots,
            topology->describe());
  bool first = !current_;
  current_ = std::move(topology);
  warned_no_seed_ = false;
  if (first) {
    // Learn the nodes' commands before serving, so no client meets a command not learned yet.
    learnCommands(from, [this] { publish_(current_); });
  } else {
    publish_(current_);
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
    requestRefresh(again_reason_);
  }
}

}  // namespace slotgate::cluster
