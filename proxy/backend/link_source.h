// Where a worker's requests get their node links: the shared pipelined link per node address, or
// a link of their own (an exclusive lease: a transaction, WATCH, a blocking command, pub/sub).
// BackendPool is the real one; unit tests use a fake.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "proxy/backend/node_link.h"

namespace slotgate::backend {

class LinkSource {
 public:
  virtual ~LinkSource() = default;
  // The shared link to host:port, made on first use; it lives as long as the source.
  virtual NodeLink& shared(const std::string& host, uint16_t port) = 0;
  // The script lane to host:port: a second pipelined link, made on first use, for commands that
  // may run long while the node serves others (scripts), so they never hold up the shared link.
  virtual NodeLink& scriptLane(const std::string& host, uint16_t port) = 0;
  // A new link to host:port owned by the caller: a pre-connected spare when one is ready.
  virtual std::unique_ptr<NodeLink> openExclusive(const std::string& host, uint16_t port) = 0;
  // Keep spare links to host:port connected ahead of openExclusive (a primary's); no-op by default.
  virtual void keepSpares(const std::string& host, uint16_t port) {
    (void)host;
    (void)port;
  }
  // Closes, once idle, every shared link `keep` rejects (nodes that left the cluster).
  virtual void closeIdleUnless(const std::function<bool(const NodeLink&)>& keep) = 0;
};

}  // namespace slotgate::backend
