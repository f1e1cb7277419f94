// A worker's view of where slots live, and the sending of requests to them. It keeps its own
// slot -> connection table, rebuilt from each topology snapshot and patched at once by MOVED, and
// asks the control loop for a refresh (at most one ask per interval) when the map is wrong.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "proxy/backend/backend_pool.h"
#include "proxy/cluster/redirect.h"
#include "proxy/cluster/topology.h"
#include "proxy/request/request.h"
#include "proxy/request/request_stats.h"
#include "proxy/request/script_cache.h"

namespace slotgate::common::uv {
class EventLoop;
}

namespace slotgate::request {

struct DispatchOptions {
  unsigned max_redirects = 5;
  uint64_t backend_timeout_ms = 5000;
};

class Dispatcher {
 public:
  using RefreshFn = std::function<void(const std::string& reason)>;

  // `stats` may be shared by several dispatchers of one worker.
  Dispatcher(common::uv::EventLoop& loop, backend::BackendPool& pool, DispatchOptions options,
             RefreshFn request_refresh, RequestStats& stats);

  void setTopology(cluster::TopologyPtr topology);
  bool hasTopology() const { return topology_ != nullptr; }
  const cluster::TopologyPtr& topology() const { return topology_; }
  // Every primary, ordered by address (stable, so a SCAN cursor can name one by index).
  const std::vector<backend::BackendConnection*>& primaries() const { return primaries_; }
  // The primary serving `slot` now (nullptr: none known).
  backend::BackendConnection* ownerOf(uint16_t slot) const { return owners_[slot]; }
  // A primary for a keyless command: round robin over the reachable ones (nullptr: none known).
  backend::BackendConnection* anyPrimary();
  // The node for pub/sub: the first reachable primary in address order, the same in every worker,
  // so PUBLISHes through slotgate and its subscriptions meet on one node.
  backend::BackendConnection* pubsubNode();
  // Scripts to load where a node answers NOSCRIPT (may be null: no retry).
  ScriptCache* scripts() const { return scripts_; }
  void setScripts(ScriptCache* scripts) { scripts_ = scripts; }
  // Every node of the last snapshot, replicas too.
  std::vector<backend::BackendConnection*> allNodes();
  RequestStats& stats() { return stats_; }
  const RequestStats& stats() const { return stats_; }

  // Sends the request to the owner of its slot (or any primary). If there is no owner it
  // answers the request with the matching error.
  void dispatch(const RequestPtr& request);
  // Follows a MOVED or ASK the node at `from` sent for `request`.
  void redirect(const RequestPtr& request, const cluster::Redirect& redirect,
                const backend::BackendConnection* from);
  // Sends again after `delay_ms` (TRYAGAIN, unreachable node).
  void retryLater(const RequestPtr& request, uint64_t delay_ms);
  void requestRefresh(const std::string& reason);

  const DispatchOptions& options() const { return options_; }

 private:
  common::uv::EventLoop& loop_;
  backend::BackendPool& pool_;
  DispatchOptions options_;
  RefreshFn request_refresh_;
  cluster::TopologyPtr topology_;
  std::array<backend::BackendConnection*, cluster::kSlots> owners_{};
  std::vector<backend::BackendConnection*> primaries_;
  size_t next_primary_ = 0;
  RequestStats& stats_;
  ScriptCache* scripts_ = nullptr;
  uint64_t last_refresh_ask_ms_ = 0;
  bool refresh_asked_ = false;
};

}  // namespace slotgate::request
