#include "proxy/admin/admin_endpoints.h"

#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <utility>

#include "proxy/admin/topology_json.h"

namespace slotgate::admin {
namespace {

uint64_t residentBytes() {
  long pages = 0, resident = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<uint64_t>(resident) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace

AdminHandlers AdminEndpoints::handlers() {
  AdminHandlers handlers;
  handlers.metrics = [this](std::function<void(std::string)> respond) {
    collector_.collect(
        [this, respond = std::move(respond)](const WorkerMetrics& merged) { respond(renderMetrics(merged)); });
  };
  handlers.ready = [this](std::function<void(bool, std::string)> respond) {
    collector_.collect([this, respond = std::move(respond)](const WorkerMetrics& merged) {
      Readiness verdict = readiness(merged);
      respond(verdict.ready, std::move(verdict.why));
    });
  };
  handlers.topology = [this] {
    return topologyJson(control_.topology().get(), control_.gossip ? control_.gossip() : std::string(),
                        control_.discovery_error ? control_.discovery_error() : std::string());
  };
  return handlers;
}

Readiness AdminEndpoints::readiness(const WorkerMetrics& merged) const {
  Readiness verdict = judgeReadiness(control_.topology().get(), control_.draining(), &merged);
  // Before the first map, say why no node answered (a refused certificate, say).
  if (!verdict.ready && !control_.topology() && control_.discovery_error) {
    std::string why = control_.discovery_error();
    if (!why.empty()) verdict.why += ": " + why;
  }
  return verdict;
}

std::string AdminEndpoints::renderMetrics(const WorkerMetrics& merged) const {
  ProcessMetrics p;
  p.version = SLOTGATE_VERSION;
  p.uptime_s = info_.uptime();
  p.threads = info_.threads();
  p.rss_bytes = residentBytes();
  p.heap_bytes = mallinfo2().uordblks;
  if (cluster::TopologyPtr topology = info_.topology()) {
    p.nodes = topology->nodes().size();
    p.primaries = topology->primaryCount();
    p.slots_covered = topology->coveredSlots();
  }
  p.ready = readiness(merged).ready;
  p.draining = control_.draining();
  const cluster::ClusterStats& cs = *control_.cluster_stats;
#define SLOTGATE_COLLECT(name, help) p.cluster.push_back({#name, help, cs.name.get()});
  SLOTGATE_CLUSTER_STATS(SLOTGATE_COLLECT)
#undef SLOTGATE_COLLECT
  p.reloads = control_.reloads();
  p.reload_failures = control_.reload_failures();
  p.slowlog_len = control_.slowlog->size();
  return renderPrometheus(p, merged);
}

}  // namespace slotgate::admin
