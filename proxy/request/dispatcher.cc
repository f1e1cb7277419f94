#include "proxy/request/dispatcher.h"

#include <algorithm>

#include "common/log.h"
#include "common/uv/event_loop.h"
#include "proxy/resp/errors.h"

namespace slotgate::request {
namespace {

// A worker asks for a refresh at most this often; the control loop coalesces further.
constexpr uint64_t kRefreshAskIntervalMs = 50;

}  // namespace

Dispatcher::Dispatcher(common::uv::EventLoop& loop, backend::BackendPool& pool, DispatchOptions options,
                       RefreshFn request_refresh, RequestStats& stats)
    : loop_(loop), pool_(pool), options_(options), request_refresh_(std::move(request_refresh)), stats_(stats) {}

void Dispatcher::setTopology(cluster::TopologyPtr topology) {
  topology_ = std::move(topology);
  owners_.fill(nullptr);
  primaries_.clear();
  const auto& nodes = topology_->nodes();
  std::vector<backend::BackendConnection*> by_index(nodes.size(), nullptr);
  for (int slot = 0; slot < cluster::kSlots; ++slot) {
    int owner = topology_->ownerOf(slot);
    if (owner < 0) continue;
    if (!by_index[owner]) {
      by_index[owner] = &pool_.get(nodes[owner].host, nodes[owner].port);
      primaries_.push_back(by_index[owner]);
    }
    owners_[slot] = by_index[owner];
  }
  std::sort(primaries_.begin(), primaries_.end(),
            [](auto* a, auto* b) { return a->address() < b->address(); });
}

std::vector<backend::BackendConnection*> Dispatcher::allNodes() {
  std::vector<backend::BackendConnection*> nodes;
  if (!topology_) return nodes;
  for (const cluster::NodeInfo& node : topology_->nodes()) nodes.push_back(&pool_.get(node.host, node.port));
  return nodes;
}

backend::BackendConnection* Dispatcher::anyPrimary() {
  if (primaries_.empty()) return nullptr;
  // Round robin, skipping nodes that cannot be reached right now when another can.
  for (size_t tries = 0; tries < primaries_.size(); ++tries) {
    backend::BackendConnection* node = primaries_[next_primary_++ % primaries_.size()];
    if (node->connected() || tries + 1 == primaries_.size()) return node;
  }
  return primaries_.front();
}

backend::BackendConnection* Dispatcher::pubsubNode() {
  for (backend::BackendConnection* node : primaries_) {
    if (node->connected() || node->inFlight() > 0) return node;
  }
  // None connected yet (a fresh worker): the first one; a dead one fails fast and we move on.
  for (backend::BackendConnection* node : primaries_) {
    if (!node->backingOff()) return node;
  }
  return primaries_.empty() ? nullptr : primaries_.front();
}

void Dispatcher::dispatch(const RequestPtr& request) {
  if (request->abandoned()) return;
  if (!topology_) {
    request->onReply(resp::err::kNoTopology);
    return;
  }
  backend::BackendConnection* node = request->pinned()                     ? request->pinned()
                                     : request->slot() == Request::kAnyPrimary ? anyPrimary()
                                                                               : owners_[request->slot()];
  if (!node) {
    requestRefresh("slot " + std::to_string(request->slot()) + " has no owner");
    request->onReply(resp::err::kSlotNotServed);
    return;
  }
  request->setNode(node);
  stats_.commands_forwarded.add();
  node->send(request, request->command());
}

void Dispatcher::redirect(const RequestPtr& request, const cluster::Redirect& r,
                          const backend::BackendConnection* from) {
  std::string host = r.host.empty() && from ? from->host() : r.host;
  backend::BackendConnection& target = pool_.get(host, r.port);
  (r.kind == cluster::Redirect::Kind::kMoved ? stats_.moved_redirects : stats_.ask_redirects).add();
  if (r.kind == cluster::Redirect::Kind::kMoved) {
    // Trust the node that owns the slot now; the refresh brings the rest of the picture.
    if (owners_[r.slot] != &target) {
      owners_[r.slot] = &target;
      if (std::find(primaries_.begin(), primaries_.end(), &target) == primaries_.end()) {
        primaries_.push_back(&target);
      }
      requestRefresh("MOVED " + std::to_string(r.slot) + " " + target.address());
    }
  }
  if (request->abandoned()) return;
  request->setNode(&target);
  target.send(request, request->command(), r.kind == cluster::Redirect::Kind::kAsk);
}

void Dispatcher::retryLater(const RequestPtr& request, uint64_t delay_ms) {
  loop_.after(delay_ms, [this, request] { dispatch(request); });
}

void Dispatcher::requestRefresh(const std::string& reason) {
  uint64_t now = loop_.nowMs();
  if (refresh_asked_ && now - last_refresh_ask_ms_ < kRefreshAskIntervalMs) return;
  refresh_asked_ = true;
  last_refresh_ask_ms_ = now;
  common::logger("proxy")->debug("asking for a topology refresh: {}", reason);
  request_refresh_(reason);
}

}  // namespace slotgate::request
