#include "proxy/admin/metrics.h"

#include <fmt/format.h>

#include <algorithm>

namespace slotgate::admin {
namespace {

// Stats that are levels, not running totals.
bool isGauge(std::string_view name) { return name == "connected_clients" || name == "parked_clients"; }

std::string escapeLabel(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

class Writer {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  void sample(std::string_view name, uint64_t value, std::string_view labels = {}) {
    if (labels.empty()) {
      fmt::format_to(std::back_inserter(out_), "{} {}\n", name, value);
    } else {
      fmt::format_to(std::back_inserter(out_), "{}{{{}}} {}\n", name, labels, value);
    }
  }
  void sampleDouble(std::string_view name, double value, std::string_view labels = {}) {
    if (labels.empty()) {
      fmt::format_to(std::back_inserter(out_), "{} {}\n", name, value);
    } else {
      fmt::format_to(std::back_inserter(out_), "{}{{{}}} {}\n", name, labels, value);
    }
  }
  void single(std::string_view name, std::string_view type, std::string_view help, uint64_t value) {
    family(name, type, help);
    sample(name, value);
  }
  void stats(std::string_view component, const std::vector<StatValue>& values) {
    for (const StatValue& v : values) {
      std::string name = fmt::format("slotgate_{}_{}", component, v.name);
      bool gauge = isGauge(v.name);
      if (!gauge) name += "_total";
      single(name, gauge ? "gauge" : "counter", v.help, v.value);
    }
  }
  // A histogram in seconds, one bucket per doubling (cumulative), plus p50/p99 gauges read from
  // the full resolution.
  void histogram(std::string_view name, std::string_view help, const common::Histogram& h) {
    family(name, "histogram", help);
    uint64_t cumulative = 0;
    for (int i = 0; i + 1 < common::Histogram::kBuckets; ++i) {
      cumulative += h.bucketCount(i);
      if (i % common::Histogram::kSubBuckets != 0) continue;
      sample(fmt::format("{}_bucket", name), cumulative,
             fmt::format("le=\"{}\"", static_cast<double>(common::Histogram::upperBound(i)) / 1e6));
    }
    sample(fmt::format("{}_bucket", name), h.count(), "le=\"+Inf\"");
    sampleDouble(fmt::format("{}_sum", name), static_cast<double>(h.sumMicros()) / 1e6);
    sample(fmt::format("{}_count", name), h.count());
    for (auto [q, label] : {std::pair{0.5, "p50"}, std::pair{0.99, "p99"}}) {
      std::string gauge = fmt::format("{}_{}", name, label);
      family(gauge, "gauge", fmt::format("{} of {} (bucket upper bound, seconds)", label, name));
      sampleDouble(gauge, static_cast<double>(h.quantile(q)) / 1e6);
    }
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace

void mergeInto(WorkerMetrics& into, const WorkerMetrics& from) {
  auto add = [](std::vector<StatValue>& to, const std::vector<StatValue>& values) {
    if (to.empty()) {
      to = values;
      return;
    }
    for (size_t i = 0; i < to.size() && i < values.size(); ++i) to[i].value += values[i].value;
  };
  add(into.session, from.session);
  add(into.request, from.request);
  for (const auto& [name, c] : from.commands) {
    auto& t = into.commands[name];
    t.calls += c.calls;
    t.errors += c.errors;
    t.usec += c.usec;
  }
  into.latency.add(from.latency);
  into.backend_latency.add(from.backend_latency);
  for (const auto& [address, n] : from.nodes) {
    NodeMetrics& t = into.nodes[address];
    t.connected += n.connected;
    t.connects += n.connects;
    t.reconnects += n.reconnects;
    t.connect_failures += n.connect_failures;
    t.in_flight += n.in_flight;
    t.down += n.down;
    if (t.last_error.empty()) t.last_error = n.last_error;
  }
  into.client_bytes_in += from.client_bytes_in;
  into.client_bytes_out += from.client_bytes_out;
  into.backend_bytes_in += from.backend_bytes_in;
  into.backend_bytes_out += from.backend_bytes_out;
  into.pending_replies += from.pending_replies;
}

std::string renderPrometheus(const ProcessMetrics& p, const WorkerMetrics& w) {
  Writer out;
  out.family("slotgate_info", "gauge", "slotgate's version (always 1)");
  out.sample("slotgate_info", 1, fmt::format("version=\"{}\"", escapeLabel(p.version)));
  out.single("slotgate_uptime_seconds", "gauge", "seconds since start", p.uptime_s);
  out.single("slotgate_worker_threads", "gauge", "worker threads", p.threads);
  out.single("slotgate_ready", "gauge", "1 while every slot has a reachable owner and not draining",
             p.ready ? 1 : 0);
  out.single("slotgate_draining", "gauge", "1 while shutting down", p.draining ? 1 : 0);
  out.single("slotgate_memory_rss_bytes", "gauge", "resident set size", p.rss_bytes);
  out.single("slotgate_memory_heap_bytes", "gauge", "heap memory in use (malloc)", p.heap_bytes);

  out.stats("session", w.session);
  out.stats("request", w.request);
  out.single("slotgate_pending_replies", "gauge", "client commands waiting for their reply", w.pending_replies);
  out.single("slotgate_client_bytes_received_total", "counter", "bytes read from clients", w.client_bytes_in);
  out.single("slotgate_client_bytes_sent_total", "counter", "bytes written to clients", w.client_bytes_out);
  out.single("slotgate_backend_bytes_received_total", "counter", "bytes read from nodes", w.backend_bytes_in);
  out.single("slotgate_backend_bytes_sent_total", "counter", "bytes written to nodes", w.backend_bytes_out);

  std::vector<std::string> names;
  for (const auto& [name, c] : w.commands) names.push_back(name);
  std::sort(names.begin(), names.end());
  out.family("slotgate_commands_total", "counter", "client commands by name (Redis's commandstats names)");
  for (const auto& name : names) {
    out.sample("slotgate_commands_total", w.commands.at(name).calls, fmt::format("cmd=\"{}\"", escapeLabel(name)));
  }
  out.family("slotgate_command_errors_total", "counter", "client commands answered with an error, by name");
  for (const auto& name : names) {
    out.sample("slotgate_command_errors_total", w.commands.at(name).errors,
               fmt::format("cmd=\"{}\"", escapeLabel(name)));
  }
  out.family("slotgate_command_seconds_total", "counter", "end-to-end time of client commands, by name");
  for (const auto& name : names) {
    out.sampleDouble("slotgate_command_seconds_total", static_cast<double>(w.commands.at(name).usec) / 1e6,
                     fmt::format("cmd=\"{}\"", escapeLabel(name)));
  }
  out.histogram("slotgate_request_duration_seconds",
                "client commands, from read to reply ready (end to end in the proxy)", w.latency);
  out.histogram("slotgate_backend_duration_seconds", "node round trips, from send to reply", w.backend_latency);

  struct NodeFamily {
    const char* name;
    const char* type;
    const char* help;
    uint64_t NodeMetrics::*field;
  };
  static constexpr NodeFamily kNodeFamilies[] = {
      {"slotgate_backend_connections", "gauge", "open worker connections to the node", &NodeMetrics::connected},
      {"slotgate_backend_connects_total", "counter", "successful connects to the node", &NodeMetrics::connects},
      {"slotgate_backend_reconnects_total", "counter", "connects after a connection to the node was lost",
       &NodeMetrics::reconnects},
      {"slotgate_backend_connect_failures_total", "counter", "failed connects to the node",
       &NodeMetrics::connect_failures},
      {"slotgate_backend_in_flight", "gauge", "commands sent to the node and not answered yet",
       &NodeMetrics::in_flight},
      {"slotgate_backend_down", "gauge", "workers that cannot connect to the node now", &NodeMetrics::down},
  };
  for (const NodeFamily& f : kNodeFamilies) {
    out.family(f.name, f.type, f.help);
    for (const auto& [address, n] : w.nodes) {
      out.sample(f.name, n.*f.field, fmt::format("node=\"{}\"", escapeLabel(address)));
    }
  }

  out.single("slotgate_cluster_nodes", "gauge", "nodes in the current topology", p.nodes);
  out.single("slotgate_cluster_primaries", "gauge", "primaries serving slots", p.primaries);
  out.single("slotgate_cluster_slots_covered", "gauge", "slots with an owner",
             static_cast<uint64_t>(p.slots_covered));
  out.stats("cluster", p.cluster);
  out.single("slotgate_config_reloads_total", "counter", "configuration reloads applied", p.reloads);
  out.single("slotgate_config_reload_failures_total", "counter", "configuration reloads refused",
             p.reload_failures);
  out.single("slotgate_slowlog_length", "gauge", "entries in SLOWLOG", p.slowlog_len);
  return out.take();
}

}  // namespace slotgate::admin
