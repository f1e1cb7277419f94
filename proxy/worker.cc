#include "proxy/worker.h"

#include <malloc.h>

#include "common/log.h"
#include "config/config_loader.h"
#include "proxy/backend/callback_waiter.h"
#include "proxy/resp/errors.h"

namespace slotgate {
namespace {

constexpr uint64_t kTimeoutSweepMs = 100;
// After this many clients left, hand freed memory back to the system (at most once a second):
// glibc keeps a worker thread's freed memory in that thread's arena otherwise.
constexpr size_t kTrimAfterClosed = 256;
constexpr uint64_t kTrimIntervalMs = 1000;
constexpr int kListenBacklog = 511;
// Draining: a client is closed after it was seen idle on two checks this far apart, so bytes it
// sent just before (already in the socket) are read and answered first.
constexpr uint64_t kDrainCheckMs = 50;

request::DispatchOptions dispatchOptions(const config::Config& c) {
  return {c.max_redirects, c.backend_timeout_ms, c.failover_wait_ms, request::parseReadFrom(c.read_from)};
}

}  // namespace

Worker::Worker(int index, ConfigPtr config, TlsContextsPtr tls, WorkerShared shared)
    : index_(index), config_(std::move(config)), tls_(std::move(tls)), shared_(std::move(shared)),
      budget_(shared_.budget) {
  // The address slotgate presents as its own (CLUSTER SLOTS, CLIENT LIST's laddr): the plain
  // port, or the TLS port when it serves TLS alone.
  const config::Address& served = !config_->listen_enabled && config_->tls.enabled ? config_->tls.listen
                                                                                   : config_->listen;
  // Before any connection exists on the loop: its sockets read and write through this transport.
  common::uv::Transport wanted = common::uv::Transport::kAuto;
  common::uv::parseTransport(config_->io_transport, &wanted);
  std::string why;
  common::uv::Transport used = loop_.useTransport(wanted, &why);
  if (wanted == common::uv::Transport::kUring && used != wanted && index_ == 0) {
    common::logger("proxy")->warn("io.transport uring is not available ({}): using libuv", why);
  } else if (index_ == 0) {
    common::logger("proxy")->info("io.transport {}: sockets read and write through {}", config_->io_transport,
                                  common::uv::transportName(used));
  }
  for (int i = 0; i < 2; ++i) {
    Stack& stack = stacks_[i];
    int proto = i == 0 ? 2 : 3;
    stack.pool = std::make_unique<backend::BackendPool>(
        loop_, backend::backendOptions(*config_, proto, tls_ ? tls_->backend : nullptr));
    stack.dispatcher = std::make_unique<request::Dispatcher>(loop_, *stack.pool, dispatchOptions(*config_),
                                                             shared_.request_refresh, request_stats_);
    stack.dispatcher->setScripts(shared_.scripts);
    stack.dispatcher->setBackendLatency(&backend_latency_);
    request::LocalContext local{served.host, served.port,     request::proxyNodeId(served.host, served.port),
                                0,           config_.get(),   nullptr,
                                proto,       shared_.control, shared_.slowlog};
    stack.executor = std::make_unique<request::Executor>(*stack.dispatcher, std::move(local), shared_.info);
    session_context_.executors[i] = stack.executor.get();
    session_context_.dispatchers[i] = stack.dispatcher.get();
  }
  listener_ = std::make_unique<common::uv::TcpListener>(loop_);
  sweep_ = std::make_unique<common::uv::Timer>(loop_);
  session_context_.loop = &loop_;
  session_context_.clients = shared_.clients;
  session_context_.laddr = served.host + ":" + std::to_string(served.port);
  session_context_.stats = &session_stats_;
  session_context_.budget = budget_;
  session_context_.command_stats = &command_stats_;
  session_context_.slowlog = shared_.slowlog;
  session_context_.io = &client_io_;
  session_context_.owner = this;
  session_context_.on_close = [this](session::Session* s) {
    sessions_.erase(s);
    idle_checks_.erase(s);
    budget_->release();
    ++closed_since_trim_;
  };
  parked_ = std::make_unique<session::ParkedClients>(
      session_context_,
      [this](std::unique_ptr<session::Session> session) {
        session::Session* raw = session.get();
        sessions_.emplace(raw, std::move(session));
        raw->start();
      },
      [this] {
        budget_->release();
        ++closed_since_trim_;
      });
  applyOnLoop(config_, tls_);  // not running yet: safe from this thread
}

Worker::~Worker() {
  if (!started_) {
    // Never started (another worker could not listen): run the loop here once, so its handles
    // are closed and freed as on a normal stop.
    stop();
    loop_.run();
  }
  join();
}

bool Worker::listen(std::string* error) {
  auto on_accept = [this](common::uv::TcpConnection* conn) { onAccept(conn, false); };
  if (config_->listen_enabled &&
      listener_->listen(config_->listen.host, config_->listen.port, kListenBacklog, on_accept, error) != 0) {
    if (error->find(config_->listen.host) == std::string::npos) {
      *error = config_->listen.host + ":" + std::to_string(config_->listen.port) + ": " + *error;
    }
    return false;
  }
  if (config_->tls.enabled) {
    const config::Address& at = config_->tls.listen;
    tls_listener_ = std::make_unique<common::uv::TcpListener>(loop_);
    auto on_tls = [this](common::uv::TcpConnection* conn) { onAccept(conn, true); };
    if (tls_listener_->listen(at.host, at.port, kListenBacklog, on_tls, error) != 0) {
      *error = "tls.listen " + at.host + ":" + std::to_string(at.port) + ": " + *error;
      return false;
    }
  }
  if (config_->unix_socket.empty()) return true;
  common::uv::UnixSocketFile* socket = shared_.unix_socket;
  if (!socket) {
    *error = "unix socket " + config_->unix_socket + ": not available";
    return false;
  }
  if (!socket->isOpen() &&
      socket->open(config_->unix_socket, config_->unix_socket_perm, kListenBacklog, error) != 0) {
    return false;
  }
  unix_listener_ = std::make_unique<common::uv::UnixListener>(loop_);
  return unix_listener_->listen(*socket, kListenBacklog, on_accept, error) == 0;
}

void Worker::start() {
  // Every worker listened before any starts: each holds its own copy of the unix socket now.
  if (shared_.unix_socket) shared_.unix_socket->closeDescriptor();
  sweep_->start(kTimeoutSweepMs, kTimeoutSweepMs, [this] {
    uint64_t now = loop_.nowMs();
    // Timers run before I/O in a loop turn: after the loop was busy for long (a huge command),
    // replies may be waiting unread. Let one turn of I/O pass before judging anyone slow.
    bool lagged = now - last_sweep_ms_ > 4 * kTimeoutSweepMs;
    last_sweep_ms_ = now;
    if (!lagged) {
      for (Stack& stack : stacks_) stack.pool->checkTimeouts(now);
    }
    sweepSessions(now, !lagged);
    if (closed_since_trim_ >= kTrimAfterClosed && now - last_trim_ms_ >= kTrimIntervalMs) {
      closed_since_trim_ = 0;
      last_trim_ms_ = now;
      malloc_trim(0);
    }
  });
  started_ = true;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), ("slotgate-w" + std::to_string(index_)).c_str());
    loop_.run();
  });
}

void Worker::publish(cluster::TopologyPtr topology) {
  loop_.post([this, topology = std::move(topology)] {
    if (!stacks_[0].dispatcher) return;  // shut down
    for (Stack& stack : stacks_) stack.dispatcher->setTopology(topology);
    learnBackendVersion();
  });
}

// HELLO reports the nodes' Redis version: ask one primary once.
void Worker::learnBackendVersion() {
  if (version_asked_ || stacks_[0].dispatcher->primaries().empty()) return;
  version_asked_ = true;
  backend::NodeLink* node = stacks_[0].dispatcher->primaries().front();
  node->send(backend::CallbackWaiter::make(
                 [this](std::string_view reply) {
                   size_t at = reply.find("redis_version:");
                   if (at == std::string_view::npos) return;
                   at += 14;
                   size_t end = reply.find("\r\n", at);
                   session_context_.backend_version =
                       std::make_shared<const std::string>(reply.substr(at, end - at));
                 },
                 [this](backend::Failure, const std::string&, const std::string&) { version_asked_ = false; }),
             "*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n");
}

void Worker::publishCommands(command::LearnedCommandsPtr learned) {
  loop_.post([this, learned = std::move(learned)] { session_context_.learned = learned; });
}

// Protected mode and max_clients. A refused client gets Redis's error and is closed once it is sent.
bool Worker::admit(common::uv::TcpConnection* conn) {
  std::string_view reply;
  // A unix-socket client is local by construction; its file's mode is what protects it.
  if (config_->protected_mode && !config::authConfigured(*config_) && !conn->unixSocket()) {
    const std::string& peer = conn->peer();
    size_t colon = peer.rfind(':');
    if (colon == std::string::npos || !config::isLoopbackHost(peer.substr(0, colon))) {
      common::logger("session")->debug("client {} refused: protected mode", peer);
      session_stats_.denied_connections.add();
      reply = resp::err::kDenied;
    }
  }
  if (reply.empty() && !budget_->tryAdmit()) {
    common::logger("session")->debug("client {} refused: {} clients connected (limits.max_clients)", conn->peer(),
                                     budget_->clients());
    session_stats_.rejected_connections.add();
    reply = resp::err::kMaxClients;
  }
  if (reply.empty()) return true;
  conn->write(reply);
  conn->close(true);
  return false;
}

// Idle and soft-limit disconnects, and this worker's share of the buffered-memory total.
void Worker::sweepSessions(uint64_t now_ms, bool check_nodes) {
  std::vector<std::pair<session::Session*, session::Session::Verdict>> victims;
  std::vector<session::Session*> waiting;  // on a dedicated connection: deadlines to check
  int64_t buffered = 0;
  std::vector<session::Session*> to_park;
  for (auto& [raw, session] : sessions_) {
    session::Session::Verdict verdict = raw->sweep(now_ms);
    if (verdict == session::Session::Verdict::kPark) {
      to_park.push_back(raw);
    } else if (verdict != session::Session::Verdict::kKeep) {
      victims.emplace_back(raw, verdict);
    } else {
      buffered += static_cast<int64_t>(raw->bufferedBytes());
      if (check_nodes && raw->waitsOnDedicated()) waiting.push_back(raw);
    }
  }
  // Each check may drop only its own session, which no later step touches.
  for (session::Session* raw : waiting) raw->checkDedicatedDeadline(now_ms);
  for (auto [raw, verdict] : victims) {
    if (verdict == session::Session::Verdict::kIdle) {
      common::logger("session")->debug("client {} closed: idle for {} s", raw->peer(), config_->client_idle_s);
      session_stats_.idle_disconnects.add();
    } else {
      common::logger("session")->warn("client {} dropped: {} bytes of replies unread for {} s (soft limit {})",
                                      raw->peer(), raw->bufferedBytes(),
                                      config_->limits.client_output_buffer_soft_seconds,
                                      config_->limits.client_output_buffer_soft);
      session_stats_.output_limit_disconnects.add();
    }
    raw->drop();
  }
  // Idle clients give their session and connection back; their socket waits bare.
  for (session::Session* raw : to_park) {
    if (parked_->park(*raw)) {
      sessions_.erase(raw);
      ++closed_since_trim_;
    }
  }
  if (size_t closed = parked_->closeIdle(now_ms, session_context_.idle_ms)) {
    common::logger("session")->debug("{} parked clients closed: idle for {} s", closed, config_->client_idle_s);
    session_stats_.idle_disconnects.add(closed);
  }
  budget_->addBuffered(buffered - reported_buffered_);
  reported_buffered_ = buffered;
}

void Worker::applyConfig(ConfigPtr config, TlsContextsPtr tls) {
  loop_.post([this, config = std::move(config), tls = std::move(tls)] { applyOnLoop(config, tls); });
}

// Every live setting a worker holds, from one snapshot. A new live setting is one line here (and
// kLive on its row in config/config_keys.cc); process-wide ones (log, slowlog) are set by the server.
void Worker::applyOnLoop(ConfigPtr config, TlsContextsPtr tls) {
  config_ = std::move(config);
  tls_ = std::move(tls);
  const config::Config& c = *config_;
  for (int i = 0; i < 2; ++i) {
    backend::BackendOptions options = backend::backendOptions(c, i == 0 ? 2 : 3, tls_ ? tls_->backend : nullptr);
    stacks_[i].pool->setOptions(options);
    stacks_[i].dispatcher->setOptions(dispatchOptions(c));
    stacks_[i].executor->setConfig(config_.get());
  }
  session_context_.users.clear();
  for (const config::User& user : c.users) {
    session_context_.users.push_back(std::make_shared<const config::User>(user));
  }
  session_context_.limits = {c.limits.max_bulk_len, c.limits.max_inline_len, c.limits.max_args};
  session_context_.max_pipeline = c.limits.max_pipeline;
  session_context_.output_limit = c.limits.client_output_buffer;
  session_context_.output_soft_limit = c.limits.client_output_buffer_soft;
  session_context_.output_soft_ms = uint64_t{c.limits.client_output_buffer_soft_seconds} * 1000;
  session_context_.idle_ms = uint64_t{c.client_idle_s} * 1000;
  session_context_.park_ms = c.client_park_ms;
}

void Worker::collectMetrics(std::function<void(admin::WorkerMetrics)> done) {
  loop_.post([this, done = std::move(done)] {
    admin::WorkerMetrics m;
#define SLOTGATE_COLLECT(name, help) m.session.push_back({#name, help, session_stats_.name.get()});
    SLOTGATE_SESSION_STATS(SLOTGATE_COLLECT)
#undef SLOTGATE_COLLECT
#define SLOTGATE_COLLECT(name, help) m.request.push_back({#name, help, request_stats_.name.get()});
    SLOTGATE_REQUEST_STATS(SLOTGATE_COLLECT)
#undef SLOTGATE_COLLECT
    m.commands = command_stats_.byName();
    m.latency = command_stats_.latency();
    m.backend_latency = backend_latency_;
    for (Stack& stack : stacks_) {
      stack.pool->forEach([&m](const backend::BackendConnection& conn) {
        admin::NodeMetrics& n = m.nodes[conn.address()];
        n.connected += conn.connected() ? 1 : 0;
        n.connects += conn.connects();
        n.reconnects += conn.connects() > 0 ? conn.connects() - 1 : 0;
        n.connect_failures += conn.connectFailures();
        n.in_flight += conn.inFlight();
        n.down += conn.down() ? 1 : 0;
        if (conn.down() && n.last_error.empty()) n.last_error = conn.lastError();
      });
      m.backend_bytes_in += stack.pool->io().bytes_in;
      m.backend_bytes_out += stack.pool->io().bytes_out;
    }
    m.client_bytes_in = client_io_.bytes_in;
    m.client_bytes_out = client_io_.bytes_out;
    for (const auto& [raw, session] : sessions_) m.pending_replies += session->pending();
    done(std::move(m));
  });
}

void Worker::onAccept(common::uv::TcpConnection* conn, bool tls) {
  if (draining_) {
    conn->close();
    return;
  }
  if (tls) {
    // Before any byte moves: even a refusal below is said over TLS.
    auto filter = tls_ && tls_->clients ? tls_->clients->newFilter() : nullptr;
    if (!filter) {
      conn->close();
      return;
    }
    conn->setFilter(std::move(filter));
  }
  if (!admit(conn)) return;
  auto session = std::make_unique<session::Session>(session_context_, conn);
  session::Session* raw = session.get();
  sessions_.emplace(raw, std::move(session));
  raw->start();
}

void Worker::drain(uint64_t deadline_ms, std::function<void(size_t)> done) {
  loop_.post([this, deadline_ms, done = std::move(done)] {
    draining_ = true;
    drain_deadline_ms_ = loop_.nowMs() + deadline_ms;
    drain_done_ = std::move(done);
    listener_->close();
    if (tls_listener_) tls_listener_->close();
    if (unix_listener_) unix_listener_->close();
    // Parked clients have nothing in flight: they close now (a parked client's socket is closed
    // bare, as an idle session's would be).
    parked_->closeAll();
    drain_timer_ = std::make_unique<common::uv::Timer>(loop_);
    drain_timer_->start(0, kDrainCheckMs, [this] { drainStep(); });
  });
}

void Worker::drainStep() {
  bool deadline = loop_.nowMs() >= drain_deadline_ms_;
  std::vector<session::Session*> to_close;
  for (auto& [raw, session] : sessions_) {
    if (deadline) {
      to_close.push_back(raw);
    } else if (session->idle()) {
      if (++idle_checks_[raw] >= 2) to_close.push_back(raw);
    } else {
      idle_checks_.erase(raw);
    }
  }
  size_t cut = 0;
  for (session::Session* raw : to_close) {
    if (!raw->idle()) ++cut;
    idle_checks_.erase(raw);
    auto it = sessions_.find(raw);
    auto owned = std::move(it->second);
    sessions_.erase(it);
    owned->close();  // writes what is ready, then closes
  }
  if (!sessions_.empty()) return;
  drain_timer_->stop();  // not reset: this runs inside the timer's own callback
  if (auto done = std::move(drain_done_)) done(cut);
}

void Worker::stop() {
  loop_.post([this] {
    shutdownOnLoop();
    loop_.stop();
  });
}

void Worker::shutdownOnLoop() {
  listener_->close();
  if (tls_listener_) tls_listener_->close();
  unix_listener_.reset();
  sweep_.reset();
  drain_timer_.reset();
  // Sessions first (their requests then drop their replies), then the node connections.
  auto sessions = std::move(sessions_);
  for (auto& [raw, session] : sessions) session->close();
  sessions.clear();
  parked_.reset();  // closes the parked clients' sockets and the parking's handle
  for (Stack& stack : stacks_) stack.pool->clear();
  // The dispatchers own timers: close them while the loop still runs, or their memory (and the
  // loop's) is never given back.
  for (Stack& stack : stacks_) {
    stack.executor.reset();
    stack.dispatcher.reset();
  }
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace slotgate
