// A worker's connections to nodes, one per node address, created on first use.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "proxy/backend/backend_connection.h"
#include "proxy/backend/link_source.h"

namespace slotgate::backend {

class BackendPool final : public LinkSource {
 public:
  BackendPool(common::uv::EventLoop& loop, BackendOptions options) : loop_(loop), options_(options) {}

  BackendConnection& get(const std::string& host, uint16_t port);
  NodeLink& shared(const std::string& host, uint16_t port) override { return get(host, port); }
  // Speaks like the shared ones (protocol, credentials); its bytes are not counted with the pool's.
  std::unique_ptr<NodeLink> openExclusive(const std::string& host, uint16_t port) override {
    return std::make_unique<BackendConnection>(loop_, host, port, options_);
  }
  void closeIdleUnless(const std::function<bool(const NodeLink&)>& keep) override {
    closeIdleUnless<const std::function<bool(const NodeLink&)>&>(keep);
  }
  // Closes, once idle, every connection whose node `keep` rejects (nodes that left the cluster).
  template <typename Keep>
  void closeIdleUnless(Keep keep) {
    for (auto& [key, conn] : connections_) {
      if (!keep(*conn)) conn->closeWhenIdle();
    }
  }
  void checkTimeouts(uint64_t now_ms);
  // New timeouts (reload), for the open connections and the ones to come.
  void setOptions(BackendOptions options) {
    options_ = options;
    for (auto& [key, conn] : connections_) conn->setOptions(options_);
  }
  template <typename Fn>
  void forEach(Fn&& fn) const {
    for (const auto& [key, conn] : connections_) fn(*conn);
  }
  // Closes every connection (failing what they hold); for shutdown.
  void clear() { connections_.clear(); }
  size_t size() const { return connections_.size(); }
  // Bytes all of this pool's connections moved.
  const common::uv::IoCounters& io() const { return io_; }

 private:
  common::uv::EventLoop& loop_;
  BackendOptions options_;
  std::unordered_map<std::string, std::unique_ptr<BackendConnection>> connections_;
  common::uv::IoCounters io_;
};

}  // namespace slotgate::backend
