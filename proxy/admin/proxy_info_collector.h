// The proxy's own numbers for INFO's "# Proxy" section, summed over the workers' counters when a
// worker asks (from any thread). Add every worker before any of them starts.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <vector>

#include "config/config.h"
#include "proxy/cluster/topology.h"
#include "proxy/request/info_merge.h"
#include "proxy/request/request_stats.h"
#include "proxy/session/client_budget.h"
#include "proxy/session/session_stats.h"

namespace slotgate::admin {

class ProxyInfoCollector : public request::ProxyInfoSource {
 public:
  ProxyInfoCollector(const config::Config& config, unsigned threads);

  // Before the workers start: one worker's counters (readable from any thread).
  void addWorker(const session::SessionStats& sessions, const request::RequestStats& requests);
  void setBudget(const session::ClientBudget* budget) { budget_ = budget; }
  // Thread-safe: the slot map the workers were last given.
  void setTopology(cluster::TopologyPtr topology);
  cluster::TopologyPtr topology() const;

  unsigned threads() const { return threads_; }
  uint64_t uptime() const;  // seconds
  request::ProxyInfo proxyInfo() const override;

 private:
  struct WorkerCounters {
    const session::SessionStats* sessions;
    const request::RequestStats* requests;
  };

  uint16_t port_;
  unsigned threads_;
  std::chrono::steady_clock::time_point started_;
  size_t max_clients_;  // restart-only settings
  size_t maxmemory_;
  std::vector<WorkerCounters> workers_;
  const session::ClientBudget* budget_ = nullptr;
  mutable std::mutex mutex_;
  cluster::TopologyPtr topology_;
};

}  // namespace slotgate::admin
