#include "proxy/worker.h"

#include <malloc.h>

#include "common/log.h"
#include "proxy/backend/callback_waiter.h"
#include "config/config_loader.h"
#include "proxy/resp/errors.h"

namespace slotgate {
namespace {

constexpr uint64_t kTimeoutSweepMs = 100;
// After this many clients left, hand freed memory back to the system (at most once a second):
// glibc keeps a worker thread's freed memory in that thread's arena otherwise.
constexpr size_t kTrimAfterClosed = 256;
constexpr uint64_t kTrimIntervalMs = 1000;
constexpr int kListenBacklog = 511;

}  // namespace

Worker::Worker(int index, const config::Config& config, request::Dispatcher::RefreshFn request_refresh,
               const Shared& shared)
    : index_(index), config_(config), budget_(shared.budget) {
  for (int i = 0; i < 2; ++i) {
    Stack& stack = stacks_[i];
    int proto = i == 0 ? 2 : 3;
    stack.pool = std::make_unique<backend::BackendPool>(loop_, backend::backendOptions(config_, proto));
    stack.dispatcher = std::make_unique<request::Dispatcher>(
        loop_, *stack.pool, request::DispatchOptions{config_.max_redirects, config_.backend_timeout_ms,
                                                     config_.failover_wait_ms},
        request_refresh, request_stats_);
    stack.dispatcher->setScripts(shared.scripts);
    request::LocalContext local{config_.listen.host, config_.listen.port,
                                request::proxyNodeId(config_.listen.host, config_.listen.port), 0, &config_,
                                nullptr, proto};
    stack.executor = std::make_unique<request::Executor>(*stack.dispatcher, std::move(local), shared.info);
    session_context_.executors[i] = stack.executor.get();
    session_context_.dispatchers[i] = stack.dispatcher.get();
    session_context_.backend_options[i] = backend::backendOptions(config_, proto);
  }
  listener_ = std::make_unique<common::uv::TcpListener>(loop_);
  sweep_ = std::make_unique<common::uv::Timer>(loop_);
  session_context_.loop = &loop_;
  session_context_.clients = shared.clients;
  session_context_.laddr = config_.listen.host + ":" + std::to_string(config_.listen.port);
  for (const config::User& user : config_.users) {
    session_context_.users.push_back(std::make_shared<const config::User>(user));
  }
  session_context_.stats = &session_stats_;
  session_context_.limits = {config_.limits.max_bulk_len, config_.limits.max_inline_len,
                             config_.limits.max_args};
  session_context_.max_pipeline = config_.limits.max_pipeline;
  session_context_.output_limit = config_.limits.client_output_buffer;
  session_context_.output_soft_limit = config_.limits.client_output_buffer_soft;
  session_context_.output_soft_ms = uint64_t{config_.limits.client_output_buffer_soft_seconds} * 1000;
  session_context_.idle_ms = uint64_t{config_.client_idle_s} * 1000;
  session_context_.budget = budget_;
  session_context_.on_close = [this](session::Session* s) {
    sessions_.erase(s);
    budget_->release();
    ++closed_since_trim_;
  };
}

Worker::~Worker() { join(); }

bool Worker::listen(std::string* error) {
  return listener_->listen(config_.listen.host, config_.listen.port, kListenBacklog,
                           [this](common::uv::TcpConnection* conn) { onAccept(conn); }, error) == 0;
}

void Worker::start() {
  sweep_->start(kTimeoutSweepMs, kTimeoutSweepMs, [this] {
    uint64_t now = loop_.nowMs();
    // Timers run before I/O in a loop turn: after the loop was busy for long (a huge command),
    // replies may be waiting unread. Let one turn of I/O pass before judging anyone slow.
    bool lagged = now - last_sweep_ms_ > 4 * kTimeoutSweepMs;
    last_sweep_ms_ = now;
    if (!lagged) {
      for (Stack& stack : stacks_) stack.pool->checkTimeouts(now);
    }
    sweepSessions(now);
    if (closed_since_trim_ >= kTrimAfterClosed && now - last_trim_ms_ >= kTrimIntervalMs) {
      closed_since_trim_ = 0;
      last_trim_ms_ = now;
      malloc_trim(0);
    }
  });
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
  backend::BackendConnection* node = stacks_[0].dispatcher->primaries().front();
  node->send(backend::CallbackWaiter::make(
                 [this](std::string_view reply) {
                   size_t at = reply.find("redis_version:");
                   if (at == std::string_view::npos) return;
                   at += 14;
                   size_t end = reply.find("\r\n", at);
                   session_context_.backend_version = std::make_shared<const std::string>(reply.substr(at, end - at));
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
  if (config_.protected_mode && !config::authConfigured(config_)) {
    const std::string& peer = conn->peer();
    size_t colon = peer.rfind(':');
    if (colon == std::string::npos || !config::isLoopbackHost(peer.substr(0, colon))) {
      common::logger("session")->debug("client {} refused: protected mode", peer);
      session_stats_.denied_connections.add();
      reply = resp::err::kDenied;
    }
  }
  if (reply.empty() && !budget_->tryAdmit()) {
    common::logger("session")->debug("client {} refused: {} clients connected (limits.max_clients)",
                                     conn->peer(), budget_->clients());
    session_stats_.rejected_connections.add();
    reply = resp::err::kMaxClients;
  }
  if (reply.empty()) return true;
  conn->write(reply);
  conn->close(true);
  return false;
}

// Idle and soft-limit disconnects, and this worker's share of the buffered-memory total.
void Worker::sweepSessions(uint64_t now_ms) {
  std::vector<std::pair<session::Session*, session::Session::Verdict>> victims;
  int64_t buffered = 0;
  for (auto& [raw, session] : sessions_) {
    session::Session::Verdict verdict = raw->sweep(now_ms);
    if (verdict != session::Session::Verdict::kKeep) {
      victims.emplace_back(raw, verdict);
    } else {
      buffered += static_cast<int64_t>(raw->bufferedBytes());
    }
  }
  for (auto [raw, verdict] : victims) {
    if (verdict == session::Session::Verdict::kIdle) {
      common::logger("session")->debug("client {} closed: idle for {} s", raw->peer(), config_.client_idle_s);
      session_stats_.idle_disconnects.add();
    } else {
      common::logger("session")->warn(
          "client {} dropped: {} bytes of replies unread for {} s (soft limit {})", raw->peer(),
          raw->bufferedBytes(), config_.limits.client_output_buffer_soft_seconds,
          config_.limits.client_output_buffer_soft);
      session_stats_.output_limit_disconnects.add();
    }
    raw->drop();
  }
  budget_->addBuffered(buffered - reported_buffered_);
  reported_buffered_ = buffered;
}

void Worker::onAccept(common::uv::TcpConnection* conn) {
  if (!admit(conn)) return;
  auto session = std::make_unique<session::Session>(session_context_, conn);
  session::Session* raw = session.get();
  sessions_.emplace(raw, std::move(session));
  raw->start();
}

void Worker::stop() {
  loop_.post([this] {
    shutdownOnLoop();
    loop_.stop();
  });
}

void Worker::shutdownOnLoop() {
  listener_->close();
  sweep_.reset();
  // Sessions first (their requests then drop their replies), then the node connections.
  auto sessions = std::move(sessions_);
  for (auto& [raw, session] : sessions) session->close();
  sessions.clear();
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
