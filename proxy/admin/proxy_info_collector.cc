#include "proxy/admin/proxy_info_collector.h"

#include <unistd.h>

namespace slotgate::admin {

ProxyInfoCollector::ProxyInfoCollector(const config::Config& config, unsigned threads)
    : port_(config.listen.port), threads_(threads), started_(std::chrono::steady_clock::now()),
      max_clients_(config.limits.max_clients), maxmemory_(config.limits.maxmemory) {}

void ProxyInfoCollector::addWorker(const session::SessionStats& sessions, const request::RequestStats& requests) {
  workers_.push_back({&sessions, &requests});
}

void ProxyInfoCollector::setTopology(cluster::TopologyPtr topology) {
  std::lock_guard lock(mutex_);
  topology_ = std::move(topology);
}

cluster::TopologyPtr ProxyInfoCollector::topology() const {
  std::lock_guard lock(mutex_);
  return topology_;
}

uint64_t ProxyInfoCollector::uptime() const {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_).count());
}

request::ProxyInfo ProxyInfoCollector::proxyInfo() const {
  request::ProxyInfo info;
  info.version = SLOTGATE_VERSION;
  info.uptime_s = uptime();
  info.threads = threads_;
  info.port = port_;
  info.pid = static_cast<uint64_t>(::getpid());
  for (const WorkerCounters& worker : workers_) {
    const session::SessionStats& s = *worker.sessions;
    const request::RequestStats& r = *worker.requests;
    info.connected_clients += s.connected_clients.get();
    info.parked_clients += s.parked_clients.get();
    info.total_connections += s.total_connections_received.get();
    info.total_commands += s.total_commands_processed.get();
    info.commands_forwarded += r.commands_forwarded.get();
    info.moved += r.moved_redirects.get();
    info.ask += r.ask_redirects.get();
    info.tryagain += r.tryagain_retries.get();
    info.node_retries += r.node_retries.get();
    info.node_errors += r.node_errors.get();
    info.rejected_connections += s.rejected_connections.get();
    info.denied_connections += s.denied_connections.get();
    info.output_limit_disconnects += s.output_limit_disconnects.get();
    info.idle_disconnects += s.idle_disconnects.get();
    info.oom_rejections += s.oom_rejections.get();
  }
  info.max_clients = max_clients_;
  info.maxmemory = maxmemory_;
  if (budget_) info.buffered_bytes = budget_->buffered();
  std::lock_guard lock(mutex_);
  if (topology_) {
    info.nodes = topology_->nodes().size();
    info.primaries = topology_->primaryCount();
    info.slots_covered = topology_->coveredSlots();
  }
  return info;
}

}  // namespace slotgate::admin
