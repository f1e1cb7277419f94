// What the admin HTTP paths answer (/metrics, /readyz, /topology), built on the control loop from
// the workers' numbers and what the control thread itself knows. AdminServer serves them.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "proxy/admin/admin_server.h"
#include "proxy/admin/metrics.h"
#include "proxy/admin/metrics_collector.h"
#include "proxy/admin/proxy_info_collector.h"
#include "proxy/admin/readiness.h"
#include "proxy/cluster/cluster_stats.h"
#include "proxy/cluster/topology.h"
#include "proxy/request/slowlog.h"

namespace slotgate::admin {

// The control thread's side of the numbers; read on the control loop only.
struct ControlView {
  std::function<cluster::TopologyPtr()> topology;  // the topology tracker's current map
  const cluster::ClusterStats* cluster_stats = nullptr;
  std::function<bool()> draining;
  std::function<uint64_t()> reloads;
  std::function<uint64_t()> reload_failures;
  const request::Slowlog* slowlog = nullptr;
  std::function<std::string()> gossip;           // the bus observer's status; may be empty
  std::function<std::string()> discovery_error;  // why no node answered yet; may be empty
};

class AdminEndpoints {
 public:
  AdminEndpoints(MetricsCollector& collector, const ProxyInfoCollector& info, ControlView control)
      : collector_(collector), info_(info), control_(std::move(control)) {}

  // The handlers for AdminServer; they refer to this object, which must outlive the server.
  AdminHandlers handlers();

 private:
  Readiness readiness(const WorkerMetrics& merged) const;
  std::string renderMetrics(const WorkerMetrics& merged) const;

  MetricsCollector& collector_;
  const ProxyInfoCollector& info_;
  ControlView control_;
};

}  // namespace slotgate::admin
