// One worker thread: its own loop, its own listening socket on the shared port (SO_REUSEPORT), its
// client sessions, its connections to the nodes and its own slot map. Nothing here is shared with
// another thread except through the loop's post().
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>

#include "common/uv/event_loop.h"
#include "common/uv/tcp_listener.h"
#include "common/uv/timer.h"
#include "config/config.h"
#include "proxy/backend/backend_pool.h"
#include "proxy/cluster/topology.h"
#include "proxy/request/dispatcher.h"
#include "proxy/request/executor.h"
#include "proxy/session/session.h"

namespace slotgate {

class Worker {
 public:
  // What every worker shares (all thread-safe).
  struct Shared {
    const request::ProxyInfoSource* info = nullptr;
    request::ScriptCache* scripts = nullptr;
    session::ClientRegistry* clients = nullptr;
    session::ClientBudget* budget = nullptr;  // max_clients and maxmemory
  };

  // `request_refresh` is called on this worker's thread and must be thread-safe.
  Worker(int index, const config::Config& config, request::Dispatcher::RefreshFn request_refresh,
         const Shared& shared);
  ~Worker();

  // Binds the listening socket (before start()); false with `error` set on failure.
  bool listen(std::string* error);
  void start();
  // Thread-safe.
  void publish(cluster::TopologyPtr topology);
  void publishCommands(command::LearnedCommandsPtr learned);
  void stop();
  void join();

  // Readable from any thread.
  const session::SessionStats& sessionStats() const { return session_stats_; }
  const request::RequestStats& requestStats() const { return request_stats_; }

 private:
  void onAccept(common::uv::TcpConnection* conn);
  bool admit(common::uv::TcpConnection* conn);
  void sweepSessions(uint64_t now_ms);
  void shutdownOnLoop();
  void learnBackendVersion();

  int index_;
  config::Config config_;
  common::uv::EventLoop loop_;
  request::RequestStats request_stats_;
  // One stack per protocol a client may speak: [0] RESP2, [1] RESP3. Node connections speak the
  // client's protocol, so replies pass through untouched.
  struct Stack {
    std::unique_ptr<backend::BackendPool> pool;
    std::unique_ptr<request::Dispatcher> dispatcher;
    std::unique_ptr<request::Executor> executor;
  };
  std::array<Stack, 2> stacks_;
  bool version_asked_ = false;
  session::SessionStats session_stats_;
  std::unique_ptr<common::uv::TcpListener> listener_;
  std::unique_ptr<common::uv::Timer> sweep_;
  session::ClientBudget* budget_;
  int64_t reported_buffered_ = 0;  // this worker's share of budget_->buffered()
  session::SessionContext session_context_;
  std::unordered_map<session::Session*, std::unique_ptr<session::Session>> sessions_;
  std::thread thread_;
  size_t closed_since_trim_ = 0;
  uint64_t last_trim_ms_ = 0;
  uint64_t last_sweep_ms_ = 0;
};

}  // namespace slotgate
