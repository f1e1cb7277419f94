// One client connection: parses its requests, answers or dispatches each, and writes the replies
// back in request order (ReplyQueue). Pipelining is bounded: past `max_pipeline` commands in
// flight the session stops reading until replies drain. A client whose unsent output passes
// `output_limit` is disconnected rather than let the proxy's memory grow; reading also pauses
// while the unsent output is above half of it. The worker calls sweep() periodically for the idle
// timeout and the soft output limit.
//
// The session also holds what a plain Redis connection remembers (session_state.cc): its
// protocol (RESP2/3, picking the executor whose node connections speak it), its user, its name,
// a transaction, WATCH, pub/sub. Commands that need a node connection of their own (WATCH, EXEC,
// blocking commands) run on a dedicated one and run alone: they start when every earlier reply is
// in, and later commands wait for them, exactly the order a single Redis would give.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>
#include <array>

#include "common/uv/tcp_connection.h"
#include "config/config.h"
#include "proxy/backend/backend_connection.h"
#include "proxy/command/classifier.h"
#include "proxy/request/executor.h"
#include "proxy/request/request.h"
#include "proxy/route/plan.h"
#include "proxy/resp/request_parser.h"
#include "proxy/session/client_budget.h"
#include "proxy/request/slowlog.h"
#include "proxy/session/client_registry.h"
#include "proxy/session/command_stats.h"
#include "proxy/session/reply_queue.h"
#include "proxy/session/session_stats.h"
#include "proxy/session/subscriptions.h"
#include "proxy/session/transaction.h"

namespace slotgate::session {

class Session;

// What a worker shares with all its sessions.
struct SessionContext {
  common::uv::EventLoop* loop = nullptr;
  // By protocol: [0] RESP2, [1] RESP3 (node connections that speak the client's protocol).
  std::array<request::Executor*, 2> executors{};
  std::array<request::Dispatcher*, 2> dispatchers{};
  std::array<backend::BackendOptions, 2> backend_options{};  // for dedicated connections
  ClientRegistry* clients = nullptr;
  std::vector<std::shared_ptr<const config::User>> users;  // empty: no authentication
  std::string laddr;                                       // slotgate's address, for CLIENT LIST
  std::shared_ptr<const std::string> backend_version;      // the nodes' redis_version, once known
  SessionStats* stats = nullptr;
  command::LearnedCommandsPtr learned;  // commands learned from the nodes; may be null
  resp::ParseLimits limits;
  size_t max_pipeline = 1024;
  size_t output_limit = 64ull * 1024 * 1024;
  size_t output_soft_limit = 0;      // 0: no soft limit
  uint64_t output_soft_ms = 60000;   // time allowed above the soft limit
  uint64_t idle_ms = 0;              // 0: idle clients stay
  ClientBudget* budget = nullptr;    // process-wide memory bound; may be null
  std::function<void(Session*)> on_close;  // the worker forgets and deletes the session
  CommandStats* command_stats = nullptr;   // per-command counts and latency; may be null
  request::Slowlog* slowlog = nullptr;     // may be null
  common::uv::IoCounters* io = nullptr;    // clients' bytes in and out; may be null
};

class Session : public request::ReplyTarget, private common::uv::TcpConnection::Handler {
 public:
  Session(SessionContext& context, common::uv::TcpConnection* conn);
  ~Session() override;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start();
  // Drops the client now (shutdown).
  void close();

  void deliver(uint64_t seq, std::string_view reply) override;
  void addBackendTime(uint64_t seq, uint64_t micros) override;

  size_t pending() const { return queue_.pending(); }
  // Nothing in flight and no partial command read: closing now loses nothing (shutdown drain).
  bool idle() const { return queue_.pending() == 0 && (!conn_ || conn_->input().empty()); }

  enum class Verdict { kKeep, kIdle, kSoftLimit };
  // Periodic check (the worker's sweep, every ~100 ms): idle timeout and soft output limit.
  // On anything but kKeep the caller logs it and calls drop().
  Verdict sweep(uint64_t now_ms);
  // The dedicated connection's command is past its deadline (a hung node): fail it and reset the
  // connection. May reply to the client, and so may drop the session: call outside any walk of
  // the sessions.
  bool waitsOnDedicated() const { return !dead_ && pinned_ && pinned_->inFlight() > 0; }
  void checkDedicatedDeadline(uint64_t now_ms) { pinned_->checkTimeout(now_ms); }
  // Closes the client at once, dropping unsent output, and lets the worker delete the session.
  void drop();
  // Bytes held for this client: unparsed input, unsent output, replies waiting for earlier ones.
  size_t bufferedBytes() const;
  const std::string& peer() const;

 private:
  enum class Step : uint8_t { kDone, kWaitForDrain };

  void onRead(common::Buffer& in) override;
  void onClosed(int status) override;
  void onDrained() override;
  bool outputFull() const;
  bool maybeResume();

  void processInput(common::Buffer& in);
  Step handleCommand(std::string_view request_bytes);
  void replyNow(std::string_view reply);
  void closeAfterReplies();
  void maybeFinish();
  void destroy();
  void kill();

  // session_state.cc: the commands that read or change the connection's state.
  request::Executor& executor() { return *ctx_.executors[proto_ == 3 ? 1 : 0]; }
  request::Dispatcher& dispatcher() { return *ctx_.dispatchers[proto_ == 3 ? 1 : 0]; }
  bool checkAccess(const command::CommandSpec& spec, std::string_view name);
  Step handleStateful(const command::CommandSpec& spec, std::string_view name, std::string_view raw);
  void queueInTransaction(const command::CommandSpec& spec, std::string_view raw);
  void auth();
  void hello();
  void client(std::string_view sub);
  void client(const command::CommandSpec& spec);  // a CLIENT subcommand's row
  void reset();
  void multi();
  void exec();
  void discard();
  void watch(int slot, std::string_view raw);
  void unwatch();
  void blocking(int slot, std::string_view raw, bool readonly);
  void wait();
  void subscription(std::string_view name);
  void noteWrite(const route::Plan& plan);
  int keysSlot(bool* cross_slot);
  std::string encodedCommand(std::string_view raw) const;
  backend::BackendConnection& pinnedTo(const std::string& host, uint16_t port);
  void sendExec(uint64_t seq, std::string host, uint16_t port, unsigned attempt);
  // One command for the dedicated connection, shared by its retries.
  struct PinnedCommand {
    std::string bytes;
    bool readonly = false;
    uint64_t extra_ms = 0;  // beyond the backend op timeout: a blocking command's own timeout
    int slot = -1;          // where to look for the owner again if its node is unreachable
    uint64_t started_ms = 0;
    std::function<void(std::string_view)> on_success;
  };
  void sendPinned(uint64_t seq, std::shared_ptr<const PinnedCommand> command, std::string host, uint16_t port,
                  bool asking, unsigned attempt);
  void finishExclusive(uint64_t seq, std::string_view reply);
  void retire(std::unique_ptr<backend::BackendConnection> conn);
  bool loggedIn(const config::User* user, std::string_view password);

  // Timing of commands in flight, for the command stats and SLOWLOG. A few leading arguments are
  // kept (bounded, in place) so a slow command can be shown without copying every command.
  struct Timing {
    static constexpr size_t kKeptBytes = 128;
    static constexpr size_t kKeptArgs = 6;
    static constexpr size_t kKeptArgBytes = 40;
    uint64_t start_us = 0;
    uint64_t backend_us = 0;
    const command::CommandSpec* spec = nullptr;  // null: not timed (or done)
    uint32_t argc = 0;
    uint8_t kept = 0;
    uint8_t lengths[kKeptArgs] = {};
    uint32_t full_lengths[kKeptArgs] = {};
    char bytes[kKeptBytes];
  };
  void startTiming(uint64_t seq, const command::CommandSpec& spec);
  Timing* timingFor(uint64_t seq);
  void finishTiming(uint64_t seq, std::string_view reply);
  void cancelTiming(uint64_t seq);
  void recordSlow(const Timing& timing, uint64_t micros);

  SessionContext& ctx_;
  common::uv::TcpConnection* conn_;
  std::shared_ptr<request::ReplyLink> link_;
  resp::RequestParser parser_;
  ReplyQueue queue_;
  command::Classification classification_;  // reused per command
  std::vector<std::string_view> argv_;      // reused per command
  std::vector<Timing> timings_;             // by seq - timing_base_, from timing_head_
  size_t timing_head_ = 0;
  uint64_t timing_base_ = 0;
  bool reading_paused_ = false;
  bool closing_after_replies_ = false;      // QUIT or a protocol error: no more commands
  bool in_read_ = false;
  bool dead_ = false;

  // Connection state.
  int proto_ = 2;
  bool authenticated_ = false;
  std::shared_ptr<const config::User> user_;  // null: the default user (no users configured)
  std::shared_ptr<ClientInfo> info_;
  const command::CommandSpec* spec_ = nullptr;  // the command being handled
  Transaction tx_;
  std::unique_ptr<Subscriptions> subs_;
  std::unique_ptr<backend::BackendConnection> pinned_;  // WATCH, EXEC, blocking commands
  bool pinned_lost_ = false;                            // the node dropped it (WATCH state is gone)
  bool exclusive_busy_ = false;  // a command that runs alone is in flight
  bool waiting_drain_ = false;   // the next command runs alone: wait for earlier replies
  // Slots this client wrote since its last WAIT (too many: every primary).
  std::vector<uint16_t> written_slots_;
  bool wrote_everywhere_ = false;
  bool pinned_wrote_ = false;          // the dedicated connection carried writes since WAIT
  const void* watch_conn_ = nullptr;   // the dedicated connection the WATCH was set on
  struct PendingExec {
    std::shared_ptr<std::vector<std::string>> commands;
    int slot = -1;
    bool watching = false;
    uint64_t started_ms = 0;
  };
  PendingExec pending_exec_;  // the EXEC batch in flight (resent after a redirect)

  // Limits (the worker's sweep).
  bool active_ = true;               // read something since the last sweep
  uint64_t last_active_ms_ = 0;      // sweep time when activity was last seen
  uint64_t over_soft_since_ms_ = 0;  // 0: not above the soft output limit
};

}  // namespace slotgate::session
