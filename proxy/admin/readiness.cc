#include "proxy/admin/readiness.h"

#include <fmt/format.h>

#include <vector>

namespace slotgate::admin {

Readiness judgeReadiness(const cluster::Topology* topology, bool draining, const WorkerMetrics* seen) {
  if (draining) return {false, "draining: shutting down"};
  if (!topology) return {false, "no cluster topology yet"};
  // Owners the workers cannot connect to right now count as failed too.
  std::vector<bool> down(topology->nodes().size(), false);
  std::string reason;  // the first unreachable owner and why, e.g. a refused certificate
  for (size_t i = 0; i < down.size(); ++i) {
    const cluster::NodeInfo& node = topology->nodes()[i];
    auto it = seen ? seen->nodes.find(node.address()) : decltype(seen->nodes.end()){};
    bool unreachable = seen && it != seen->nodes.end() && it->second.down > 0;
    down[i] = !node.healthy || node.failing || unreachable;
    if (unreachable && reason.empty() && !it->second.last_error.empty()) {
      reason = "; " + node.address() + ": " + it->second.last_error;
    }
  }
  int unserved = 0, failed = 0;
  for (int slot = 0; slot < cluster::kSlots; ++slot) {
    int owner = topology->ownerOf(slot);
    if (owner < 0) {
      ++unserved;
    } else if (down[owner]) {
      ++failed;
    }
  }
  if (unserved == 0 && failed == 0) return {true, {}};
  return {false, fmt::format("{} slot(s) without an owner, {} slot(s) whose owner is failed or unreachable{}",
                             unserved, failed, failed > 0 ? reason : std::string())};
}

}  // namespace slotgate::admin
