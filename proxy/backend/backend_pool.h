// A worker's connections to nodes, per node address, created on first use: the shared pipelined
// link, the script lane (a second pipelined link for scripts, so a long one never holds up the
// shared link's traffic) and a few spare links kept connected for exclusive use (a blocking
// command, a transaction, SCRIPT KILL), so such a command is on the node without a connect first.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "proxy/backend/backend_connection.h"
#include "proxy/backend/link_source.h"

namespace slotgate::backend {

class BackendPool final : public LinkSource {
 public:
  BackendPool(common::uv::EventLoop& loop, BackendOptions options) : loop_(loop), options_(options) {}

  BackendConnection& get(const std::string& host, uint16_t port);
  NodeLink& shared(const std::string& host, uint16_t port) override { return get(host, port); }
  NodeLink& scriptLane(const std::string& host, uint16_t port) override;
  // Speaks like the shared ones (protocol, credentials); its bytes are not counted with the pool's.
  // A spare that is connected is handed over, and another starts connecting in its place.
  std::unique_ptr<NodeLink> openExclusive(const std::string& host, uint16_t port) override;
  // Keeps options.spare_links links to host:port connecting or connected.
  void keepSpares(const std::string& host, uint16_t port) override;
  void closeIdleUnless(const std::function<bool(const NodeLink&)>& keep) override {
    closeIdleUnless<const std::function<bool(const NodeLink&)>&>(keep);
  }
  // Closes, once idle, every connection whose node `keep` rejects (nodes that left the cluster),
  // and drops that node's spares.
  template <typename Keep>
  void closeIdleUnless(Keep keep) {
    for (auto& [key, conn] : connections_) {
      if (keep(*conn)) continue;
      conn->closeWhenIdle();
      if (auto lane = lanes_.find(key); lane != lanes_.end()) lane->second->closeWhenIdle();
      spares_.erase(key);
    }
  }
  void checkTimeouts(uint64_t now_ms);
  // New timeouts (reload), for the open connections and the ones to come.
  void setOptions(BackendOptions options);
  // The shared links and script lanes.
  template <typename Fn>
  void forEach(Fn&& fn) const {
    for (const auto& [key, conn] : connections_) fn(*conn);
    for (const auto& [key, conn] : lanes_) fn(*conn);
  }
  // Closes every connection (failing what they hold); for shutdown.
  void clear() {
    spares_.clear();
    lanes_.clear();
    connections_.clear();
  }
  size_t size() const { return connections_.size(); }
  // Bytes the shared links and script lanes moved.
  const common::uv::IoCounters& io() const { return io_; }

 private:
  static std::string keyOf(const std::string& host, uint16_t port) { return host + " " + std::to_string(port); }
  void refill(const std::string& key, const std::string& host, uint16_t port);

  common::uv::EventLoop& loop_;
  BackendOptions options_;
  std::unordered_map<std::string, std::unique_ptr<BackendConnection>> connections_;
  std::unordered_map<std::string, std::unique_ptr<BackendConnection>> lanes_;
  std::unordered_map<std::string, std::vector<std::unique_ptr<BackendConnection>>> spares_;
  common::uv::IoCounters io_;
};

}  // namespace slotgate::backend
