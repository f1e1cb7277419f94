// What /metrics shows, and its Prometheus text rendering. Each worker fills a WorkerMetrics on its
// own thread (nothing on the hot path is shared or locked); the control loop merges them with the
// process-wide numbers and renders. Pure: no sockets.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/histogram.h"
#include "proxy/session/command_stats.h"

namespace slotgate::admin {

// One counter of a component's stats list (session_stats.h, request_stats.h, ...).
struct StatValue {
  const char* name;
  const char* help;
  uint64_t value;
};

struct NodeMetrics {
  uint64_t connected = 0;   // worker connections open now
  uint64_t connects = 0;    // successful connects
  uint64_t reconnects = 0;  // connects after the first, per worker connection
  uint64_t connect_failures = 0;
  uint64_t in_flight = 0;  // commands sent and not answered
  uint64_t down = 0;       // workers whose last connect to the node failed (backing off)
  std::string last_error;  // why the last connect failed, while down (a refused certificate, ...)
};

struct WorkerMetrics {
  std::vector<StatValue> session;  // SLOTGATE_SESSION_STATS
  std::vector<StatValue> request;  // SLOTGATE_REQUEST_STATS
  std::unordered_map<std::string, session::CommandCounters> commands;
  common::Histogram latency;                 // end to end
  common::Histogram backend_latency;         // node round trips
  std::map<std::string, NodeMetrics> nodes;  // by "host:port"
  uint64_t client_bytes_in = 0, client_bytes_out = 0;
  uint64_t backend_bytes_in = 0, backend_bytes_out = 0;
  uint64_t pending_replies = 0;  // client commands not answered yet
};

struct ProcessMetrics {
  std::string version;
  uint64_t uptime_s = 0;
  unsigned threads = 0;
  uint64_t rss_bytes = 0;
  uint64_t heap_bytes = 0;  // malloc'd and in use
  size_t nodes = 0, primaries = 0;
  int slots_covered = 0;
  std::vector<StatValue> cluster;  // SLOTGATE_CLUSTER_STATS (tracker and bus observer)
  uint64_t reloads = 0, reload_failures = 0;
  uint64_t slowlog_len = 0;
  bool ready = false, draining = false;
};

// Adds `from` into `into` (counters summed, histograms merged).
void mergeInto(WorkerMetrics& into, const WorkerMetrics& from);

// The Prometheus text exposition (version 0.0.4) of everything.
std::string renderPrometheus(const ProcessMetrics& process, const WorkerMetrics& workers);

}  // namespace slotgate::admin
