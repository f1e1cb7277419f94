#include "proxy/server.h"

#include <csignal>
#include <thread>

#include "common/log.h"
#include "common/uv/event_loop.h"
#include "common/uv/signal_watcher.h"
#include "proxy/cluster/topology_tracker.h"
#include "proxy/worker.h"

namespace slotgate {

int runServer(const config::Config& config) {
  auto log = common::logger("proxy");
  unsigned threads = config.threads ? config.threads : std::max(1u, std::thread::hardware_concurrency());
  std::signal(SIGPIPE, SIG_IGN);

  common::uv::EventLoop control;
  std::unique_ptr<cluster::TopologyTracker> tracker;
  // Workers ask the control loop for refreshes; the control loop publishes to the workers.
  auto request_refresh = [&control, &tracker](const std::string& reason) {
    control.post([&tracker, reason] {
      if (tracker) tracker->requestRefresh(reason);
    });
  };

  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned i = 0; i < threads; ++i) {
    workers.push_back(std::make_unique<Worker>(static_cast<int>(i), config, request_refresh));
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
    for (auto& worker : workers) worker->publish(topology);
  });

  std::string seeds;
  for (const auto& seed : config.seeds) seeds += (seeds.empty() ? "" : ",") + seed.host + ":" + std::to_string(seed.port);
  log->info("slotgate {} listening on {}:{} with {} worker thread(s); seeds {}", SLOTGATE_VERSION,
            config.listen.host, config.listen.port, threads, seeds);

  std::unique_ptr<common::uv::SignalWatcher> signals;
  signals = std::make_unique<common::uv::SignalWatcher>(control, std::vector<int>{SIGINT, SIGTERM}, [&](int signum) {
    log->info("received signal {}, shutting down", signum);
    // Not from inside the watcher's own callback: it is destroyed here.
    control.post([&] {
      signals.reset();
      tracker->stop();
      for (auto& worker : workers) worker->stop();
      control.stop();
    });
  });

  for (auto& worker : workers) worker->start();
  control.post([&] { tracker->start(); });
  control.run();
  for (auto& worker : workers) worker->join();
  log->info("stopped");
  return 0;
}

}  // namespace slotgate
