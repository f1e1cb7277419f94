// A worker's view of where slots live, and the sending of requests to them. It keeps its own
// slot -> connection table, rebuilt from each topology snapshot and patched at once by MOVED (never
// towards a node with an older config epoch than the owner it replaces), and asks the control
// loop for a refresh (at most one ask per interval) when the map is wrong. Requests for the slots
// of a primary flagged failing are held, in order, until a snapshot gives the slots to a live
// node, or fail with CLUSTERDOWN after failover_wait. Connections to nodes that left the cluster
// are closed once idle.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/clock.h"
#include "common/histogram.h"
#include "common/retry_policy.h"
#include "proxy/backend/link_source.h"
#include "proxy/cluster/cluster_stats.h"
#include "proxy/cluster/redirect.h"
#include "proxy/cluster/topology.h"
#include "proxy/command/command_spec.h"
#include "proxy/request/request.h"
#include "proxy/request/request_stats.h"
#include "proxy/request/script_cache.h"

namespace slotgate::request {

enum class ReadFrom : uint8_t { kMaster, kPreferReplica, kReplica };

// "master" | "prefer-replica" | "replica" (config's read_from); anything else reads as kMaster.
ReadFrom parseReadFrom(std::string_view text);

struct DispatchOptions {
  unsigned max_redirects = 5;
  uint64_t backend_timeout_ms = 5000;
  uint64_t failover_wait_ms = 10000;  // longest a request waits for its slot's owner to come back
  ReadFrom read_from = ReadFrom::kMaster;

  common::RetryPolicy retry() const {
    common::RetryPolicy policy;
    policy.max_redirects = max_redirects;
    policy.failover_wait_ms = failover_wait_ms;
    return policy;
  }
};

class Dispatcher {
 public:
  using RefreshFn = std::function<void(cluster::RefreshCause cause, const std::string& reason)>;

  // `stats` may be shared by several dispatchers of one worker.
  Dispatcher(common::Clock& clock, backend::LinkSource& links, DispatchOptions options, RefreshFn request_refresh,
             RequestStats& stats);

  void setTopology(cluster::TopologyPtr topology);
  // New settings (reload); requests already sent keep the ones they started with.
  void setOptions(DispatchOptions options);
  bool hasTopology() const { return topology_ != nullptr; }
  const cluster::TopologyPtr& topology() const { return topology_; }
  // Every primary, ordered by address (stable, so a SCAN cursor can name one by index).
  const std::vector<backend::NodeLink*>& primaries() const { return primaries_; }
  // The primary serving `slot` now (nullptr: none known).
  backend::NodeLink* ownerOf(uint16_t slot) const { return owners_[slot]; }
  // A primary for a keyless command: round robin over the reachable ones (nullptr: none known).
  backend::NodeLink* anyPrimary();
  // The node for pub/sub: the first reachable primary in address order, the same in every worker,
  // so PUBLISHes through slotgate and its subscriptions meet on one node.
  backend::NodeLink* pubsubNode();
  // Scripts to load where a node answers NOSCRIPT (may be null: no retry).
  ScriptCache* scripts() const { return scripts_; }
  void setScripts(ScriptCache* scripts) { scripts_ = scripts; }
  // Every node of the last snapshot, replicas too.
  std::vector<backend::NodeLink*> allNodes();
  RequestStats& stats() { return stats_; }
  // Where node round trips (send to reply) are recorded; may be shared by a worker's dispatchers.
  void setBackendLatency(common::Histogram* histogram) { backend_latency_ = histogram; }
  void recordBackendLatency(uint64_t micros) {
    if (backend_latency_) backend_latency_->record(micros);
  }
  backend::LinkSource& links() { return links_; }
  // EVALSHA or EVALSHA_RO: a NOSCRIPT answer can be healed by loading the script.
  static bool isEvalsha(const command::CommandSpec* spec) {
    return spec && spec->handler == command::Handler::kEvalsha;
  }
  const RequestStats& stats() const { return stats_; }

  // Sends the request to the owner of its slot (or any primary). If there is no owner it
  // answers the request with the matching error.
  void dispatch(const RequestPtr& request);
  // Follows a MOVED or ASK the node at `from` sent for `request`.
  void redirect(const RequestPtr& request, const cluster::Redirect& redirect, const backend::NodeLink* from);
  // Sends again after `delay_ms` (TRYAGAIN, unreachable node).
  void retryLater(const RequestPtr& request, uint64_t delay_ms);
  void requestRefresh(cluster::RefreshCause cause, const std::string& reason);
  // Same, the cause read from the reason: "MOVED ..." is a redirect, anything else a node error.
  void requestRefresh(const std::string& reason) {
    requestRefresh(
        reason.starts_with("MOVED") ? cluster::RefreshCause::kRedirect : cluster::RefreshCause::kNodeError,
        reason);
  }
  size_t heldRequests() const { return held_.size(); }

  const DispatchOptions& options() const { return options_; }
  const common::RetryPolicy& retryPolicy() const { return retry_; }
  common::Clock& clock() { return clock_; }

 private:
  // Queues `request` until its slot's owner is live again, or fails it after failover_wait.
  void hold(const RequestPtr& request);
  void releaseHeld();
  void expireHeld();
  void armHoldCheck();
  uint64_t epochOf(const backend::NodeLink* node) const;
  // Where a request for `slot` goes: its primary, or (read-only, read_from not master) a replica.
  backend::NodeLink* forSlot(const Request& request);
  void connectReplicas();

  common::Clock& clock_;
  backend::LinkSource& links_;
  DispatchOptions options_;
  common::RetryPolicy retry_;
  RefreshFn request_refresh_;
  cluster::TopologyPtr topology_;
  std::array<backend::NodeLink*, cluster::kSlots> owners_{};
  std::vector<backend::NodeLink*> primaries_;
  size_t next_primary_ = 0;
  RequestStats& stats_;
  ScriptCache* scripts_ = nullptr;
  std::vector<bool> failing_slots_ = std::vector<bool>(cluster::kSlots, false);
  std::unordered_set<const backend::NodeLink*> failing_nodes_;
  std::unordered_map<const backend::NodeLink*, uint64_t> epochs_;
  std::deque<RequestPtr> held_;
  bool hold_check_armed_ = false;
  // Replica reads: per topology node index, its connection (primaries) and its replicas' ones.
  std::vector<backend::NodeLink*> by_index_;
  std::vector<std::vector<backend::NodeLink*>> replicas_of_;
  std::vector<bool> replica_healthy_;  // by topology node index: not flagged failed
  size_t next_replica_ = 0;
  common::Histogram* backend_latency_ = nullptr;
  uint64_t last_refresh_ask_ms_ = 0;
  bool refresh_asked_ = false;
};

}  // namespace slotgate::request
