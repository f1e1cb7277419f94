// One worker thread: its own loop, its own listening socket on the shared port (SO_REUSEPORT), its
// client sessions, its connections to the nodes and its own slot map. Nothing here is shared with
// another thread except through the loop's post().
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>

#include "common/uv/event_loop.h"
#include "common/uv/tcp_listener.h"
#include "common/uv/timer.h"
#include "common/uv/unix_listener.h"
#include "config/config.h"
#include "proxy/admin/metrics.h"
#include "proxy/backend/backend_pool.h"
#include "proxy/cluster/topology.h"
#include "proxy/request/dispatcher.h"
#include "proxy/request/executor.h"
#include "proxy/request/slotgate_command.h"
#include "proxy/request/slowlog.h"
#include "proxy/session/parked_clients.h"
#include "proxy/session/session.h"
#include "proxy/tls_contexts.h"

namespace slotgate {

using ConfigPtr = std::shared_ptr<const config::Config>;

// What every worker shares with the server (all thread-safe).
struct WorkerShared {
  request::Dispatcher::RefreshFn request_refresh;  // called on a worker's thread; thread-safe
  const request::ProxyInfoSource* info = nullptr;
  request::ScriptCache* scripts = nullptr;
  session::ClientRegistry* clients = nullptr;
  request::Slowlog* slowlog = nullptr;
  request::ControlPort* control = nullptr;
  session::ClientBudget* budget = nullptr;  // max_clients and maxmemory
  // unix_socket: bound by the first worker's listen(), served by all; removed when it is destroyed.
  common::uv::UnixSocketFile* unix_socket = nullptr;
};

class Worker : private state::ClientOwner {
 public:
  Worker(int index, ConfigPtr config, TlsContextsPtr tls, WorkerShared shared);
  ~Worker() override;

  // Binds the listening sockets (plain, and TLS when tls.listen is set) and serves the unix socket if configured
  // (before start()); false with `error` set on failure.
  bool listen(std::string* error);
  void start();
  // Thread-safe.
  void publish(cluster::TopologyPtr topology);
  void publishCommands(command::LearnedCommandsPtr learned);
  // Thread-safe: a new settings snapshot (reload) and the TLS contexts read with it; what can
  // change live changes now, and new connections use the new certificates.
  void applyConfig(ConfigPtr config, TlsContextsPtr tls);
  // Thread-safe: fills a WorkerMetrics on this worker's thread and passes it to `done` there.
  void collectMetrics(std::function<void(admin::WorkerMetrics)> done);
  // Thread-safe: stops accepting, lets clients' commands in flight finish, closes each client
  // once it has nothing in flight (or all at `deadline_ms` from now), then calls `done` on this
  // worker's thread. The loop keeps running until stop().
  void drain(uint64_t deadline_ms, std::function<void(size_t cut)> done);
  void stop();
  void join();

  // Readable from any thread.
  const session::SessionStats& sessionStats() const { return session_stats_; }
  const request::RequestStats& requestStats() const { return request_stats_; }

 private:
  void onAccept(common::uv::TcpConnection* conn, bool tls);
  bool admit(common::uv::TcpConnection* conn);
  void sweepSessions(uint64_t now_ms, bool check_nodes);
  void shutdownOnLoop();
  void applyOnLoop(ConfigPtr config, TlsContextsPtr tls);
  void drainStep();
  void learnBackendVersion();
  // state::ClientOwner
  void post(std::function<void()> fn) override { loop_.post(std::move(fn)); }
  void killParked(uint64_t id) override {
    if (parked_) parked_->kill(id);
  }

  int index_;
  ConfigPtr config_;
  TlsContextsPtr tls_;
  WorkerShared shared_;
  common::uv::EventLoop loop_;
  request::RequestStats request_stats_;
  common::Histogram backend_latency_;  // node round trips, all of this worker's dispatchers
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
  session::CommandStats command_stats_;
  common::uv::IoCounters client_io_;
  std::unique_ptr<common::uv::TcpListener> listener_;
  std::unique_ptr<common::uv::TcpListener> tls_listener_;  // tls.listen
  std::unique_ptr<common::uv::UnixListener> unix_listener_;
  std::unique_ptr<common::uv::Timer> sweep_;
  session::ClientBudget* budget_;
  int64_t reported_buffered_ = 0;  // this worker's share of budget_->buffered()
  std::unique_ptr<common::uv::Timer> drain_timer_;
  session::SessionContext session_context_;
  std::unordered_map<session::Session*, std::unique_ptr<session::Session>> sessions_;
  std::unique_ptr<session::ParkedClients> parked_;          // idle clients without a session
  std::unordered_map<session::Session*, int> idle_checks_;  // draining: consecutive idle sightings
  std::thread thread_;
  bool started_ = false;  // start() ran: the loop runs on thread_
  size_t closed_since_trim_ = 0;
  uint64_t last_trim_ms_ = 0;
  uint64_t last_sweep_ms_ = 0;
  bool draining_ = false;
  uint64_t drain_deadline_ms_ = 0;
  std::function<void(size_t)> drain_done_;
};

}  // namespace slotgate
