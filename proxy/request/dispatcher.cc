#include "proxy/request/dispatcher.h"

#include <algorithm>

#include "common/log.h"
#include "proxy/request/exclusive_lease.h"
#include "proxy/resp/errors.h"
#include "proxy/resp/writer.h"

namespace slotgate::request {
namespace {

// A worker asks for a refresh at most this often; the control loop coalesces further.
constexpr uint64_t kRefreshAskIntervalMs = 50;
// How often held requests are checked against their deadline.
constexpr uint64_t kHoldCheckMs = 50;

}  // namespace

ReadFrom parseReadFrom(std::string_view text) {
  if (text == "prefer-replica") return ReadFrom::kPreferReplica;
  if (text == "replica") return ReadFrom::kReplica;
  return ReadFrom::kMaster;
}

Dispatcher::Dispatcher(common::Clock& clock, backend::LinkSource& links, DispatchOptions options,
                       RefreshFn request_refresh, RequestStats& stats)
    : clock_(clock), links_(links), options_(options), retry_(options.retry()),
      request_refresh_(std::move(request_refresh)), stats_(stats) {}

void Dispatcher::setTopology(cluster::TopologyPtr topology) {
  topology_ = std::move(topology);
  owners_.fill(nullptr);
  primaries_.clear();
  failing_nodes_.clear();
  epochs_.clear();
  const auto& nodes = topology_->nodes();
  std::vector<backend::NodeLink*>& by_index = by_index_;
  by_index.assign(nodes.size(), nullptr);
  for (int slot = 0; slot < cluster::kSlots; ++slot) {
    int owner = topology_->ownerOf(slot);
    failing_slots_[static_cast<size_t>(slot)] = owner >= 0 && nodes[owner].failing;
    if (owner < 0) continue;
    if (!by_index[owner]) {
      by_index[owner] = &links_.shared(nodes[owner].host, nodes[owner].port);
      links_.keepSpares(nodes[owner].host, nodes[owner].port);
      primaries_.push_back(by_index[owner]);
      if (nodes[owner].failing) failing_nodes_.insert(by_index[owner]);
    }
    owners_[slot] = by_index[owner];
  }
  std::sort(primaries_.begin(), primaries_.end(), [](auto* a, auto* b) { return a->address() < b->address(); });
  for (const cluster::NodeInfo& node : nodes) {
    if (node.config_epoch) epochs_[&links_.shared(node.host, node.port)] = node.config_epoch;
  }
  // Nodes that left the cluster: close their connections once nothing waits on them.
  links_.closeIdleUnless([this](const backend::NodeLink& conn) {
    if (topology_->findByAddress(conn.host(), conn.port()) >= 0) return true;
    return std::find(primaries_.begin(), primaries_.end(), &conn) != primaries_.end();
  });
  connectReplicas();
  releaseHeld();
}

uint64_t Dispatcher::epochOf(const backend::NodeLink* node) const {
  auto it = epochs_.find(node);
  return it == epochs_.end() ? 0 : it->second;
}

void Dispatcher::hold(const RequestPtr& request) {
  uint64_t now = clock_.nowMs();
  if (!request->waitStarted()) {
    request->startWait(now);
    stats_.failover_holds.add();
  }
  if (now - request->waitStartMs() >= options_.failover_wait_ms) {
    stats_.failover_hold_timeouts.add();
    request->fail(
        resp::errorReply(fmt::runtime(resp::err::kFailoverTimeout), request->slot(), options_.failover_wait_ms));
    return;
  }
  held_.push_back(request);
  armHoldCheck();
}

void Dispatcher::armHoldCheck() {
  if (hold_check_armed_) return;
  hold_check_armed_ = true;
  clock_.after(kHoldCheckMs, [this] {
    hold_check_armed_ = false;
    expireHeld();
    if (!held_.empty()) armHoldCheck();
  });
}

void Dispatcher::releaseHeld() {
  if (held_.empty()) return;
  // In arrival order, so one client's commands for one slot keep their order.
  std::deque<RequestPtr> held;
  held.swap(held_);
  for (const RequestPtr& request : held) dispatch(request);
}

void Dispatcher::expireHeld() {
  uint64_t now = clock_.nowMs();
  std::deque<RequestPtr> keep;
  std::deque<RequestPtr> held;
  held.swap(held_);
  for (const RequestPtr& request : held) {
    if (request->abandoned()) continue;
    if (now - request->waitStartMs() >= options_.failover_wait_ms) {
      stats_.failover_hold_timeouts.add();
      request->fail(
          resp::errorReply(fmt::runtime(resp::err::kFailoverTimeout), request->slot(), options_.failover_wait_ms));
    } else {
      keep.push_back(request);
    }
  }
  // A reply above may have queued more (a client's next command): keep those after the older ones.
  for (RequestPtr& request : held_) keep.push_back(std::move(request));
  held_.swap(keep);
}

void Dispatcher::connectReplicas() {
  replicas_of_.assign(by_index_.size(), {});
  replica_healthy_.assign(by_index_.size(), true);
  if (options_.read_from == ReadFrom::kMaster || !topology_) return;
  const auto& nodes = topology_->nodes();
  for (size_t i = 0; i < nodes.size(); ++i) {
    const cluster::NodeInfo& node = nodes[i];
    if (node.primary || node.primary_id.empty()) continue;
    for (size_t p = 0; p < nodes.size(); ++p) {
      if (nodes[p].id != node.primary_id || !by_index_[p]) continue;
      backend::NodeLink& conn = links_.shared(node.host, node.port);
      conn.setReadonly(true);  // a replica serves reads only after READONLY
      replicas_of_[p].push_back(&conn);
      replica_healthy_[p] = replica_healthy_[p] && node.healthy;
      if (!node.healthy) replicas_of_[p].pop_back();
    }
  }
}

void Dispatcher::setOptions(DispatchOptions options) {
  bool replicas_changed = options.read_from != options_.read_from;
  options_ = options;
  retry_ = options.retry();
  if (replicas_changed) connectReplicas();
}

backend::NodeLink* Dispatcher::forSlot(const Request& request) {
  backend::NodeLink* owner = owners_[request.slot()];
  // Leased commands (WATCH, blocking reads) stay with the primary, as on a plain connection.
  if (options_.read_from == ReadFrom::kMaster || !request.readonly() || !owner || request.lease()) return owner;
  int index = topology_->ownerOf(request.slot());
  // After a MOVED the slot's owner may no longer be the snapshot's: its replicas are unknown.
  if (index < 0 || by_index_[index] != owner || replicas_of_[index].empty()) return owner;
  const auto& replicas = replicas_of_[index];
  for (size_t tries = 0; tries < replicas.size(); ++tries) {
    backend::NodeLink* replica = replicas[next_replica_++ % replicas.size()];
    if (options_.read_from == ReadFrom::kReplica) return replica;
    if (!replica->failing()) return replica;
    replica->probe();  // back in rotation once a background connect succeeds
  }
  return owner;  // prefer-replica: no replica reachable now
}

std::vector<backend::NodeLink*> Dispatcher::allNodes() {
  std::vector<backend::NodeLink*> nodes;
  if (!topology_) return nodes;
  for (const cluster::NodeInfo& node : topology_->nodes()) nodes.push_back(&links_.shared(node.host, node.port));
  return nodes;
}

backend::NodeLink* Dispatcher::anyPrimary() {
  if (primaries_.empty()) return nullptr;
  // Round robin, skipping nodes that cannot be reached right now when another can.
  for (size_t tries = 0; tries < primaries_.size(); ++tries) {
    backend::NodeLink* node = primaries_[next_primary_++ % primaries_.size()];
    if ((node->connected() && !failing_nodes_.count(node)) || tries + 1 == primaries_.size()) return node;
  }
  return primaries_.front();
}

backend::NodeLink* Dispatcher::pubsubNode() {
  for (backend::NodeLink* node : primaries_) {
    if (node->connected() || node->inFlight() > 0) return node;
  }
  // None connected yet (a fresh worker): the first one; a dead one fails fast and we move on.
  for (backend::NodeLink* node : primaries_) {
    if (!node->backingOff()) return node;
  }
  return primaries_.empty() ? nullptr : primaries_.front();
}

void Dispatcher::dispatch(const RequestPtr& request) {
  if (request->abandoned()) return;
  if (!topology_) {
    request->fail(resp::err::kNoTopology);
    return;
  }
  int slot = request->slot();
  if (!request->pinned() && slot >= 0 && failing_slots_[static_cast<size_t>(slot)] && owners_[slot] &&
      failing_nodes_.count(owners_[slot])) {
    return hold(request);
  }
  backend::NodeLink* node = request->pinned()                         ? request->pinned()
                            : request->slot() == Request::kAnyPrimary ? anyPrimary()
                                                                      : forSlot(*request);
  if (!node) {
    requestRefresh(cluster::RefreshCause::kNodeError, "slot " + std::to_string(request->slot()) + " has no owner");
    // Through the reply path: the request waits (failover_wait) for an owner to appear.
    request->onReply(resp::err::kSlotNotServed);
    return;
  }
  request->setNode(node);
  stats_.commands_forwarded.add();
  if (!request->lease()) {
    // The shared pipelined link, or (a client running scripts) the node's script lane.
    backend::NodeLink& link = request->onScriptLane() ? links_.scriptLane(node->host(), node->port()) : *node;
    return link.send(request, request->command());
  }
  request->linkAt(*node).send(request, request->command(), false, request->extraMs(), request->repliesPerSend());
}

void Dispatcher::redirect(const RequestPtr& request, const cluster::Redirect& r, const backend::NodeLink* from) {
  std::string host = r.host.empty() && from ? from->host() : r.host;
  backend::NodeLink& target = links_.shared(host, r.port);
  (r.kind == cluster::Redirect::Kind::kMoved ? stats_.moved_redirects : stats_.ask_redirects).add();
  if (r.kind == cluster::Redirect::Kind::kMoved) {
    // Trust the node that owns the slot now; the refresh brings the rest of the picture. A node
    // that gives up a slot is believed; a third node's word never moves a slot to an owner with
    // an older config epoch than the one in the map.
    backend::NodeLink* owner = owners_[r.slot];
    bool authoritative = !owner || owner == from || epochOf(&target) == 0 || epochOf(owner) == 0 ||
                         epochOf(&target) >= epochOf(owner);
    if (owner != &target && authoritative) {
      owners_[r.slot] = &target;
      failing_slots_[static_cast<size_t>(r.slot)] = false;
      if (std::find(primaries_.begin(), primaries_.end(), &target) == primaries_.end()) {
        primaries_.push_back(&target);
      }
      requestRefresh(cluster::RefreshCause::kRedirect, "MOVED " + std::to_string(r.slot) + " " + target.address());
    }
  }
  if (request->abandoned()) return;
  request->setNode(&target);
  request->linkAt(target).send(request, request->command(), r.kind == cluster::Redirect::Kind::kAsk,
                               request->extraMs(), request->repliesPerSend());
}

void Dispatcher::retryLater(const RequestPtr& request, uint64_t delay_ms) {
  clock_.after(delay_ms, [this, request] { dispatch(request); });
}

void Dispatcher::requestRefresh(cluster::RefreshCause cause, const std::string& reason) {
  uint64_t now = clock_.nowMs();
  if (refresh_asked_ && now - last_refresh_ask_ms_ < kRefreshAskIntervalMs) return;
  refresh_asked_ = true;
  last_refresh_ask_ms_ = now;
  common::logger("proxy")->debug("asking for a topology refresh: {}", reason);
  request_refresh_(cause, reason);
}

}  // namespace slotgate::request
