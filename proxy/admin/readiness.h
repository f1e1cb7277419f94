// /readyz's verdict: ready when a slot map gives every slot an owner that is neither flagged
// failed nor unreachable from the workers, and the proxy is not shutting down. Pure.
#pragma once

#include <string>

#include "proxy/admin/metrics.h"
#include "proxy/cluster/topology.h"

namespace slotgate::admin {

struct Readiness {
  bool ready = false;
  std::string why;  // what is missing, when not ready
};

// `topology` may be null (none yet); `seen` (the workers' merged numbers, may be null) tells which
// nodes the workers cannot connect to right now.
Readiness judgeReadiness(const cluster::Topology* topology, bool draining, const WorkerMetrics* seen);

}  // namespace slotgate::admin
