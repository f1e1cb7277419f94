#include "proxy/server.h"

#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <thread>

#include "common/log.h"
#include "common/uv/event_loop.h"
#include "common/uv/signal_watcher.h"
#include "common/uv/timer.h"
#include "proxy/admin/admin_server.h"
#include "proxy/admin/metrics.h"
#include "proxy/admin/topology_json.h"
#include "proxy/cluster/bus_observer.h"
#include "proxy/cluster/topology_tracker.h"
#include "proxy/request/info_merge.h"
#include "proxy/worker.h"

namespace slotgate {
namespace {

// After the drain deadline, how long the control loop still waits for workers to report.
constexpr uint64_t kDrainGraceMs = 1000;
// A /metrics scrape waits at most this long for the workers.
constexpr uint64_t kCollectTimeoutMs = 2000;

// The proxy's own INFO numbers, summed over the workers' counters.
class ProxyInfoCollector : public request::ProxyInfoSource {
 public:
  ProxyInfoCollector(const config::Config& config, unsigned threads)
      : port_(config.listen.port), threads_(threads), started_(std::chrono::steady_clock::now()),
        max_clients_(config.limits.max_clients), maxmemory_(config.limits.maxmemory) {}

  void setWorkers(const std::vector<std::unique_ptr<Worker>>* workers) { workers_ = workers; }
  void setBudget(const session::ClientBudget* budget) { budget_ = budget; }
  void setTopology(cluster::TopologyPtr topology) {
    std::lock_guard lock(mutex_);
    topology_ = std::move(topology);
  }
  cluster::TopologyPtr topology() const {
    std::lock_guard lock(mutex_);
    return topology_;
  }
  uint64_t uptime() const {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_).count());
  }

  request::ProxyInfo proxyInfo() const override {
    request::ProxyInfo info;
    info.version = SLOTGATE_VERSION;
    info.uptime_s = uptime();
    info.threads = threads_;
    info.port = port_;
    info.pid = static_cast<uint64_t>(::getpid());
    for (const auto& worker : *workers_) {
      const auto& s = worker->sessionStats();
      const auto& r = worker->requestStats();
      info.connected_clients += s.connected_clients.get();
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

 private:
  uint16_t port_;
  unsigned threads_;
  std::chrono::steady_clock::time_point started_;
  size_t max_clients_;  // restart-only settings
  size_t maxmemory_;
  const std::vector<std::unique_ptr<Worker>>* workers_ = nullptr;
  const session::ClientBudget* budget_ = nullptr;
  mutable std::mutex mutex_;
  cluster::TopologyPtr topology_;
};

uint64_t residentBytes() {
  long pages = 0, resident = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<uint64_t>(resident) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

// Ready: a slot map that gives every slot an owner not flagged failed, and not shutting down.
bool isReady(const cluster::Topology* topology, bool draining, const admin::WorkerMetrics* seen,
             std::string* why) {
  if (draining) {
    *why = "draining: shutting down";
    return false;
  }
  if (!topology) {
    *why = "no cluster topology yet";
    return false;
  }
  // Owners the workers cannot connect to right now count as failed too.
  std::vector<bool> down(topology->nodes().size(), false);
  for (size_t i = 0; i < down.size(); ++i) {
    const cluster::NodeInfo& node = topology->nodes()[i];
    auto it = seen ? seen->nodes.find(node.address()) : decltype(seen->nodes.end()){};
    down[i] = !node.healthy || node.failing || (seen && it != seen->nodes.end() && it->second.down > 0);
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
  if (unserved == 0 && failed == 0) return true;
  *why = fmt::format("{} slot(s) without an owner, {} slot(s) whose owner is failed or unreachable", unserved,
                     failed);
  return false;
}

// One /metrics scrape: asks every worker, renders when all answered (or the time is up).
struct Scrape {
  admin::WorkerMetrics merged;
  size_t waiting = 0;
  bool answered = false;
  std::function<void(std::string)> respond;
  std::function<std::string(const admin::WorkerMetrics&)> render;
  void finish() {
    if (answered) return;
    answered = true;
    respond(render(merged));
  }
};

}  // namespace

int runServer(const config::Config& initial, ConfigSource source) {
  auto log = common::logger("proxy");
  unsigned threads = initial.threads ? initial.threads : std::max(1u, std::thread::hardware_concurrency());
  std::signal(SIGPIPE, SIG_IGN);

  request::Slowlog slowlog;
  ConfigControl control_config(std::make_shared<const config::Config>(initial), std::move(source), &slowlog);
  ConfigControl::applyProcessWide(initial, &slowlog);

  common::uv::EventLoop control;
  std::unique_ptr<cluster::TopologyTracker> tracker;
  std::unique_ptr<cluster::BusObserver> observer;
  // Workers ask the control loop for refreshes; the control loop publishes to the workers.
  auto request_refresh = [&control, &tracker](cluster::RefreshCause cause, const std::string& reason) {
    control.post([&tracker, cause, reason] {
      if (tracker) tracker->requestRefresh(cause, reason);
    });
  };

  session::ClientBudget budget(initial.limits.max_clients, initial.limits.maxmemory);
  common::uv::UnixSocketFile unix_socket;  // outlives the workers: its file is removed on return
  std::vector<std::unique_ptr<Worker>> workers;
  ProxyInfoCollector info(initial, threads);
  info.setWorkers(&workers);
  request::ScriptCache scripts(initial.script_cache);
  session::ClientRegistry clients;
  WorkerShared shared{request_refresh, &info, &scripts, &clients, &slowlog, &control_config, &budget, &unix_socket};
  info.setBudget(&budget);
  ConfigPtr config = control_config.current();
  for (unsigned i = 0; i < threads; ++i) {
    workers.push_back(std::make_unique<Worker>(static_cast<int>(i), config, shared));
    std::string error;
    if (!workers.back()->listen(&error)) {
      log->critical("cannot listen: {}", error);
      return 1;
    }
  }
  control_config.setPublish([&workers](ConfigPtr next) {
    for (auto& worker : workers) worker->applyConfig(next);
  });

  bool first_topology = true;
  tracker = std::make_unique<cluster::TopologyTracker>(control, initial, [&](cluster::TopologyPtr topology) {
    if (first_topology) {
      first_topology = false;
      log->info("serving: {} nodes, {} primaries, {}/{} slots covered", topology->nodes().size(),
                topology->primaryCount(), topology->coveredSlots(), cluster::kSlots);
    }
    info.setTopology(topology);
    for (auto& worker : workers) worker->publish(topology);
    if (observer) observer->onTopology(topology);
  }, [&](command::LearnedCommandsPtr learned) {
    for (auto& worker : workers) worker->publishCommands(learned);
  });

  bool draining = false;
  auto render = [&](const admin::WorkerMetrics& merged) {
    admin::ProcessMetrics p;
    p.version = SLOTGATE_VERSION;
    p.uptime_s = info.uptime();
    p.threads = threads;
    p.rss_bytes = residentBytes();
    p.heap_bytes = mallinfo2().uordblks;
    cluster::TopologyPtr topology = info.topology();
    if (topology) {
      p.nodes = topology->nodes().size();
      p.primaries = topology->primaryCount();
      p.slots_covered = topology->coveredSlots();
    }
    std::string why;
    p.ready = isReady(tracker->current().get(), draining, &merged, &why);
    p.draining = draining;
    const cluster::ClusterStats& cs = tracker->stats();
#define SLOTGATE_COLLECT(name, help) p.cluster.push_back({#name, help, cs.name.get()});
    SLOTGATE_CLUSTER_STATS(SLOTGATE_COLLECT)
#undef SLOTGATE_COLLECT
    p.reloads = control_config.reloads();
    p.reload_failures = control_config.failures();
    p.slowlog_len = slowlog.size();
    return admin::renderPrometheus(p, merged);
  };
  // Asks every worker for its numbers; `render` turns the sum into the answer.
  auto collect = [&](std::function<void(std::string)> respond,
                     std::function<std::string(const admin::WorkerMetrics&)> render_fn) {
    auto scrape = std::make_shared<Scrape>();
    scrape->respond = std::move(respond);
    scrape->render = std::move(render_fn);
    scrape->waiting = workers.size();
    for (auto& worker : workers) {
      worker->collectMetrics([&control, scrape](admin::WorkerMetrics m) {
        control.post([scrape, m = std::move(m)] {
          admin::mergeInto(scrape->merged, m);
          if (--scrape->waiting == 0) scrape->finish();
        });
      });
    }
    control.after(kCollectTimeoutMs, [scrape] { scrape->finish(); });
  };
  admin::AdminHandlers handlers;
  handlers.metrics = [&](std::function<void(std::string)> respond) { collect(std::move(respond), render); };
  handlers.ready = [&](std::function<void(bool, std::string)> respond) {
    auto verdict = std::make_shared<std::pair<bool, std::string>>();
    collect([respond, verdict](std::string) { respond(verdict->first, verdict->second); },
            [&, verdict](const admin::WorkerMetrics& merged) {
              verdict->first = isReady(tracker->current().get(), draining, &merged, &verdict->second);
              return std::string();
            });
  };
  handlers.topology = [&] { return admin::topologyJson(tracker->current().get()); };
  admin::AdminServer admin_server(control, std::move(handlers));
  if (initial.admin_enabled) {
    std::string error;
    if (admin_server.listen(initial.admin_listen.host, initial.admin_listen.port, &error) != 0) {
      log->critical("cannot listen for admin HTTP on {}:{}: {} (set admin.listen: off to run without it)",
                    initial.admin_listen.host, initial.admin_listen.port, error);
      return 1;
    }
  }

  std::string seeds;
  for (const auto& seed : initial.seeds) seeds += (seeds.empty() ? "" : ",") + seed.host + ":" + std::to_string(seed.port);
  log->info("slotgate {} listening on {}{} with {} worker thread(s); seeds {}; admin {}", SLOTGATE_VERSION,
            initial.listen_enabled ? initial.listen.host + ":" + std::to_string(initial.listen.port) : "",
            initial.unix_socket.empty() ? "" : (initial.listen_enabled ? " and " : "") + initial.unix_socket, threads, seeds,
            initial.admin_enabled ? "http://" + initial.admin_listen.host + ":" +
                                        std::to_string(initial.admin_listen.port)
                                  : std::string("off"));
  if (!config::authConfigured(initial)) {
    if (initial.protected_mode) {
      log->info("protected mode: no users are configured, so only loopback clients are served");
    } else {
      log->warn("protected mode is off and no users are configured: any host that reaches {}:{} "
                "can send commands", initial.listen.host, initial.listen.port);
    }
  }

  // Shutdown: drain the workers, then stop everything in reverse start order.
  std::unique_ptr<common::uv::SignalWatcher> signals;
  bool stopped = false;
  auto finish = [&] {
    if (stopped) return;
    stopped = true;
    // Not from inside the watcher's own callback: it is destroyed here.
    control.post([&] {
      signals.reset();
      admin_server.close();
      if (observer) observer->stop();
      tracker->stop();
      for (auto& worker : workers) worker->stop();
      control.stop();
    });
  };
  auto begin_drain = [&](int signum) {
    draining = true;
    uint64_t timeout_ms = control_config.current()->shutdown_timeout_ms;
    uint64_t clients = info.proxyInfo().connected_clients;
    log->info("received signal {}: draining {} client(s), up to {} ms (a second signal exits at once)", signum,
              clients, timeout_ms);
    auto remaining = std::make_shared<size_t>(workers.size());
    auto cut_total = std::make_shared<size_t>(0);
    for (auto& worker : workers) {
      worker->drain(timeout_ms, [&, remaining, cut_total](size_t cut) {
        control.post([&, remaining, cut_total, cut] {
          *cut_total += cut;
          if (--*remaining > 0) return;
          if (*cut_total > 0) {
            log->warn("drained with {} client(s) cut with commands still in flight", *cut_total);
          } else {
            log->info("drained: every client's commands were answered");
          }
          finish();
        });
      });
    }
    control.after(timeout_ms + kDrainGraceMs, [&] {
      if (!stopped) log->warn("workers did not finish draining in time; stopping");
      finish();
    });
  };
  signals = std::make_unique<common::uv::SignalWatcher>(
      control, std::vector<int>{SIGINT, SIGTERM, SIGHUP}, [&](int signum) {
        if (signum == SIGHUP) {
          log->info("received SIGHUP: reloading the configuration");
          control_config.reload();
          return;
        }
        if (draining) {
          log->warn("received signal {} while draining: exiting now", signum);
          std::fflush(nullptr);
          std::_Exit(1);
        }
        begin_drain(signum);
      });

  for (auto& worker : workers) worker->start();
  if (initial.gossip) observer = std::make_unique<cluster::BusObserver>(control, initial, *tracker);
  control.post([&] {
    if (observer) observer->start();
    tracker->start();
  });
  control.run();
  for (auto& worker : workers) worker->join();
  log->info("stopped");
  return 0;
}

}  // namespace slotgate
