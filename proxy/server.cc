#include "proxy/server.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/log.h"
#include "common/uv/event_loop.h"
#include "common/uv/signal_watcher.h"
#include "proxy/admin/admin_endpoints.h"
#include "proxy/admin/admin_server.h"
#include "proxy/admin/metrics_collector.h"
#include "proxy/admin/proxy_info_collector.h"
#include "proxy/discovery/bus_observer.h"
#include "proxy/discovery/topology_tracker.h"
#include "proxy/worker.h"

namespace slotgate {
namespace {

// After the drain deadline, how long the control loop still waits for workers to report.
constexpr uint64_t kDrainGraceMs = 1000;
// A /metrics scrape waits at most this long for the workers.
constexpr uint64_t kCollectTimeoutMs = 2000;

// The whole proxy: the workers, and on the control loop the topology tracker, the bus observer,
// the admin listener and the signals. Members are declared in start order and destroyed in reverse.
class Server {
 public:
  Server(const config::Config& initial, TlsContextsPtr tls, ConfigSource source);

  // Runs until stopped; the process exit code.
  int run();

 private:
  // Every socket clients connect to is bound here, before anything starts, so a taken address
  // fails fast. False (logged) when one cannot be bound.
  bool openListeners();
  void startDiscovery();
  void onTopology(cluster::TopologyPtr topology);
  // Thread-safe: a worker asks the control loop for a topology refresh.
  void requestRefresh(cluster::RefreshCause cause, const std::string& reason);
  bool openAdmin();
  void logStarted() const;
  void watchSignals();
  void onSignal(int signum);
  void beginDrain(int signum);
  // Stops everything in reverse start order (once).
  void finish();

  std::shared_ptr<spdlog::logger> log_ = common::logger("proxy");
  const config::Config& initial_;
  unsigned threads_;
  request::Slowlog slowlog_;
  ConfigControl config_;
  common::uv::EventLoop control_;
  std::unique_ptr<discovery::TopologyTracker> tracker_;
  std::unique_ptr<discovery::BusObserver> observer_;
  session::ClientBudget budget_;
  common::uv::UnixSocketFile unix_socket_;  // outlives the workers: its file is removed last
  std::vector<std::unique_ptr<Worker>> workers_;
  admin::ProxyInfoCollector info_;
  request::ScriptCache scripts_;
  session::ClientRegistry clients_;
  bool first_topology_ = true;
  bool draining_ = false;
  admin::MetricsCollector collector_{control_, kCollectTimeoutMs};
  std::unique_ptr<admin::AdminEndpoints> endpoints_;
  std::unique_ptr<admin::AdminServer> admin_server_;
  std::unique_ptr<common::uv::SignalWatcher> signals_;
  bool stopped_ = false;
};

Server::Server(const config::Config& initial, TlsContextsPtr tls, ConfigSource source)
    : initial_(initial),
      threads_(initial.threads ? initial.threads : std::max(1u, std::thread::hardware_concurrency())),
      config_(std::make_shared<const config::Config>(initial), std::move(tls), std::move(source), &slowlog_),
      budget_(initial.limits.max_clients, initial.limits.maxmemory), info_(initial, threads_),
      scripts_(initial.script_cache) {
  ConfigControl::applyProcessWide(initial, &slowlog_);
}

bool Server::openListeners() {
  auto refresh = [this](cluster::RefreshCause cause, const std::string& reason) { requestRefresh(cause, reason); };
  WorkerShared shared{refresh, &info_, &scripts_, &clients_, &slowlog_, &config_, &budget_, &unix_socket_};
  info_.setBudget(&budget_);
  ConfigPtr config = config_.current();
  for (unsigned i = 0; i < threads_; ++i) {
    workers_.push_back(std::make_unique<Worker>(static_cast<int>(i), config, config_.tls(), shared));
    Worker& worker = *workers_.back();
    info_.addWorker(worker.sessionStats(), worker.requestStats());
    collector_.addSource(
        [&worker](std::function<void(admin::WorkerMetrics)> done) { worker.collectMetrics(std::move(done)); });
    std::string error;
    if (!worker.listen(&error)) {
      log_->critical("cannot listen: {}", error);
      return false;
    }
  }
  config_.setPublish([this](ConfigPtr next, TlsContextsPtr tls) {
    for (auto& worker : workers_) worker->applyConfig(next, tls);
    control_.post([this, tls] {
      if (tracker_) tracker_->setTls(tls ? tls->backend : nullptr);
      if (observer_) observer_->setTls(tls ? tls->backend : nullptr);
    });
  });
  return true;
}

void Server::requestRefresh(cluster::RefreshCause cause, const std::string& reason) {
  control_.post([this, cause, reason] {
    if (tracker_) tracker_->requestRefresh(cause, reason);
  });
}

void Server::startDiscovery() {
  tracker_ = std::make_unique<discovery::TopologyTracker>(
      control_, initial_, config_.tls() ? config_.tls()->backend : nullptr,
      [this](cluster::TopologyPtr topology) { onTopology(std::move(topology)); },
      [this](command::LearnedCommandsPtr learned) {
        for (auto& worker : workers_) worker->publishCommands(learned);
      });
}

void Server::onTopology(cluster::TopologyPtr topology) {
  if (first_topology_) {
    first_topology_ = false;
    log_->info("serving: {} nodes, {} primaries, {}/{} slots covered", topology->nodes().size(),
               topology->primaryCount(), topology->coveredSlots(), cluster::kSlots);
  }
  info_.setTopology(topology);
  for (auto& worker : workers_) worker->publish(topology);
  if (observer_) observer_->onTopology(topology);
}

bool Server::openAdmin() {
  admin::ControlView view;
  view.topology = [this] { return tracker_->current(); };
  view.cluster_stats = &tracker_->stats();
  view.draining = [this] { return draining_; };
  view.reloads = [this] { return config_.reloads(); };
  view.reload_failures = [this] { return config_.failures(); };
  view.slowlog = &slowlog_;
  view.gossip = [this] {
    if (!initial_.gossip) return std::string("off: topology.gossip is false");
    return observer_ ? observer_->status() : std::string("starting");
  };
  view.discovery_error = [this] { return tracker_->current() ? std::string() : tracker_->lastFailure(); };
  endpoints_ = std::make_unique<admin::AdminEndpoints>(collector_, info_, std::move(view));
  admin_server_ = std::make_unique<admin::AdminServer>(control_, endpoints_->handlers());
  if (!initial_.admin_enabled) return true;
  std::string error;
  if (admin_server_->listen(initial_.admin_listen.host, initial_.admin_listen.port, &error) != 0) {
    log_->critical("cannot listen for admin HTTP on {}:{}: {} (set admin.listen: off to run without it)",
                   initial_.admin_listen.host, initial_.admin_listen.port, error);
    return false;
  }
  return true;
}

void Server::logStarted() const {
  std::string seeds;
  for (const auto& seed : initial_.seeds) {
    seeds += (seeds.empty() ? "" : ",") + seed.host + ":" + std::to_string(seed.port);
  }
  log_->info("slotgate {} listening on {}{} with {} worker thread(s); seeds {}; admin {}", SLOTGATE_VERSION,
             initial_.listen_enabled ? initial_.listen.host + ":" + std::to_string(initial_.listen.port) : "",
             initial_.unix_socket.empty() ? "" : (initial_.listen_enabled ? " and " : "") + initial_.unix_socket,
             threads_, seeds,
             initial_.admin_enabled
                 ? "http://" + initial_.admin_listen.host + ":" + std::to_string(initial_.admin_listen.port)
                 : std::string("off"));
  if (initial_.tls.enabled) {
    log_->info("serving TLS on {}:{}{}", initial_.tls.listen.host, initial_.tls.listen.port,
               initial_.tls.verify_clients ? " (client certificates required)" : "");
  }
  if (initial_.backend_tls.enabled) {
    log_->info(
        "speaking TLS to the nodes (verify: {}{})", initial_.backend_tls.verify,
        initial_.backend_tls.server_name.empty() ? "" : ", server name " + initial_.backend_tls.server_name);
    if (initial_.backend_tls.verify == "none") {
      log_->warn(
          "backend.tls.verify is none: the nodes' certificates are not checked (anyone on the path can "
          "pose as a node)");
    }
  }
  if (!config::authConfigured(initial_)) {
    if (initial_.protected_mode) {
      log_->info("protected mode: no users are configured, so only loopback clients are served");
    } else {
      log_->warn(
          "protected mode is off and no users are configured: any host that reaches {}:{} "
          "can send commands",
          initial_.listen.host, initial_.listen.port);
    }
  }
}

void Server::watchSignals() {
  signals_ = std::make_unique<common::uv::SignalWatcher>(control_, std::vector<int>{SIGINT, SIGTERM, SIGHUP},
                                                         [this](int signum) { onSignal(signum); });
}

void Server::onSignal(int signum) {
  if (signum == SIGHUP) {
    log_->info("received SIGHUP: reloading the configuration");
    config_.reload();
    return;
  }
  if (draining_) {
    log_->warn("received signal {} while draining: exiting now", signum);
    std::fflush(nullptr);
    std::_Exit(1);
  }
  beginDrain(signum);
}

// Shutdown: drain the workers, then stop everything in reverse start order.
void Server::beginDrain(int signum) {
  draining_ = true;
  uint64_t timeout_ms = config_.current()->shutdown_timeout_ms;
  uint64_t clients = info_.proxyInfo().connected_clients;
  log_->info("received signal {}: draining {} client(s), up to {} ms (a second signal exits at once)", signum,
             clients, timeout_ms);
  auto remaining = std::make_shared<size_t>(workers_.size());
  auto cut_total = std::make_shared<size_t>(0);
  for (auto& worker : workers_) {
    worker->drain(timeout_ms, [this, remaining, cut_total](size_t cut) {
      control_.post([this, remaining, cut_total, cut] {
        *cut_total += cut;
        if (--*remaining > 0) return;
        if (*cut_total > 0) {
          log_->warn("drained with {} client(s) cut with commands still in flight", *cut_total);
        } else {
          log_->info("drained: every client's commands were answered");
        }
        finish();
      });
    });
  }
  control_.after(timeout_ms + kDrainGraceMs, [this] {
    if (!stopped_) log_->warn("workers did not finish draining in time; stopping");
    finish();
  });
}

void Server::finish() {
  if (stopped_) return;
  stopped_ = true;
  // Not from inside the watcher's own callback: it is destroyed here.
  control_.post([this] {
    signals_.reset();
    admin_server_->close();
    if (observer_) observer_->stop();
    tracker_->stop();
    for (auto& worker : workers_) worker->stop();
    control_.stop();
  });
}

int Server::run() {
  std::signal(SIGPIPE, SIG_IGN);
  if (!openListeners()) return 1;
  startDiscovery();
  if (!openAdmin()) return 1;
  logStarted();
  watchSignals();

  for (auto& worker : workers_) worker->start();
  if (initial_.gossip) {
    observer_ = std::make_unique<discovery::BusObserver>(control_, initial_, *tracker_);
    observer_->setTls(config_.tls() ? config_.tls()->backend : nullptr);
  }
  control_.post([this] {
    if (observer_) observer_->start();
    tracker_->start();
  });
  control_.run();
  for (auto& worker : workers_) worker->join();
  log_->info("stopped");
  return 0;
}

}  // namespace

int runServer(const config::Config& initial, TlsContextsPtr tls, ConfigSource source) {
  Server server(initial, std::move(tls), std::move(source));
  return server.run();
}

}  // namespace slotgate
