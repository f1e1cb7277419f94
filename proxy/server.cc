#include "proxy/server.h"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <mutex>
#include <thread>

#include "common/log.h"
#include "common/uv/event_loop.h"
#include "common/uv/signal_watcher.h"
#include "proxy/cluster/bus_observer.h"
#include "proxy/cluster/topology_tracker.h"
#include "proxy/request/info_merge.h"
#include "proxy/worker.h"

namespace slotgate {
namespace {

// The proxy's own INFO numbers, summed over the workers' counters.
class ProxyInfoCollector : public request::ProxyInfoSource {
 public:
  ProxyInfoCollector(const config::Config& config, unsigned threads)
      : config_(config), threads_(threads), started_(std::chrono::steady_clock::now()) {}

  void setWorkers(const std::vector<std::unique_ptr<Worker>>* workers) { workers_ = workers; }
  void setBudget(const session::ClientBudget* budget) { budget_ = budget; }
  void setTopology(cluster::TopologyPtr topology) {
    std::lock_guard lock(mutex_);
    topology_ = std::move(topology);
  }

  request::ProxyInfo proxyInfo() const override {
    request::ProxyInfo info;
    info.version = SLOTGATE_VERSION;
    info.uptime_s = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_).count());
    info.threads = threads_;
    info.port = config_.listen.port;
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
    info.max_clients = config_.limits.max_clients;
    info.maxmemory = config_.limits.maxmemory;
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
  const config::Config& config_;
  unsigned threads_;
  std::chrono::steady_clock::time_point started_;
  const std::vector<std::unique_ptr<Worker>>* workers_ = nullptr;
  const session::ClientBudget* budget_ = nullptr;
  mutable std::mutex mutex_;
  cluster::TopologyPtr topology_;
};

}  // namespace

int runServer(const config::Config& config) {
  auto log = common::logger("proxy");
  unsigned threads = config.threads ? config.threads : std::max(1u, std::thread::hardware_concurrency());
  std::signal(SIGPIPE, SIG_IGN);

  common::uv::EventLoop control;
  std::unique_ptr<cluster::TopologyTracker> tracker;
  std::unique_ptr<cluster::BusObserver> observer;
  // Workers ask the control loop for refreshes; the control loop publishes to the workers.
  auto request_refresh = [&control, &tracker](cluster::RefreshCause cause, const std::string& reason) {
    control.post([&tracker, cause, reason] {
      if (tracker) tracker->requestRefresh(cause, reason);
    });
  };

  session::ClientBudget budget(config.limits.max_clients, config.limits.maxmemory);
  std::vector<std::unique_ptr<Worker>> workers;
  ProxyInfoCollector info(config, threads);
  info.setWorkers(&workers);
  request::ScriptCache scripts(config.script_cache);
  session::ClientRegistry clients;
  Worker::Shared shared{&info, &scripts, &clients, &budget};
  info.setBudget(&budget);
  for (unsigned i = 0; i < threads; ++i) {
    workers.push_back(std::make_unique<Worker>(static_cast<int>(i), config, request_refresh, shared));
    std::string error;
    if (!workers.back()->listen(&error)) {
      log->critical("cannot listen on {}:{}: {}", config.listen.host, config.listen.port, error);
      return 1;
    }
  }

  bool first_topology = true;
  tracker = std::make_unique<cluster::TopologyTracker>(control, config, [&](cluster::TopologyPtr topology) {
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

  std::string seeds;
  for (const auto& seed : config.seeds) seeds += (seeds.empty() ? "" : ",") + seed.host + ":" + std::to_string(seed.port);
  log->info("slotgate {} listening on {}:{} with {} worker thread(s); seeds {}", SLOTGATE_VERSION,
            config.listen.host, config.listen.port, threads, seeds);
  if (!config::authConfigured(config)) {
    if (config.protected_mode) {
      log->info("protected mode: no users are configured, so only loopback clients are served");
    } else {
      log->warn("protected mode is off and no users are configured: any host that reaches {}:{} "
                "can send commands", config.listen.host, config.listen.port);
    }
  }

  std::unique_ptr<common::uv::SignalWatcher> signals;
  signals = std::make_unique<common::uv::SignalWatcher>(control, std::vector<int>{SIGINT, SIGTERM}, [&](int signum) {
    log->info("received signal {}, shutting down", signum);
    // Not from inside the watcher's own callback: it is destroyed here.
    control.post([&] {
      signals.reset();
      if (observer) observer->stop();
      tracker->stop();
      for (auto& worker : workers) worker->stop();
      control.stop();
    });
  });

  for (auto& worker : workers) worker->start();
  if (config.gossip) observer = std::make_unique<cluster::BusObserver>(control, config, *tracker);
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
