// One client connection: parses its requests, hands each to the client's state or forwards it,
// and writes the replies back in request order (ReplyQueue). Pipelining is bounded: past
// `max_pipeline` commands in flight the session stops reading until replies drain. A client whose
// unsent output passes `output_limit` is disconnected rather than let the proxy's memory grow;
// reading also pauses while the unsent output is above half of it. The worker calls sweep()
// periodically for the idle timeout and the soft output limit.
//
// What a plain Redis connection remembers (its user, protocol, transaction, subscriptions...)
// lives in state::ClientState. Commands that run alone (WATCH, EXEC, blocking commands, WAIT,
// pub/sub changes) start when every earlier reply is in, and later commands wait for them: a
// command that must wait is kept parsed until then.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/uv/tcp_connection.h"
#include "config/config.h"
#include "proxy/command/classifier.h"
#include "proxy/request/request.h"
#include "proxy/request/slowlog.h"
#include "proxy/resp/request_parser.h"
#include "proxy/session/client_budget.h"
#include "proxy/session/command_stats.h"
#include "proxy/session/reply_queue.h"
#include "proxy/session/session_stats.h"
#include "proxy/state/client_env.h"
#include "proxy/state/client_registry.h"
#include "proxy/state/client_state.h"
#include "proxy/state/parked_state.h"

namespace slotgate::session {

// The registry lives with the client state; the worker and server name it from here.
using state::ClientInfo;
using state::ClientRegistry;
using state::KillFilter;

class Session;

// What a worker shares with all its sessions (ClientEnv: what their client state needs).
struct SessionContext : state::ClientEnv {
  common::uv::EventLoop* loop = nullptr;
  SessionStats* stats = nullptr;
  command::LearnedCommandsPtr learned;  // commands learned from the nodes; may be null
  resp::ParseLimits limits;
  size_t max_pipeline = 1024;
  size_t output_limit = 64ull * 1024 * 1024;
  size_t output_soft_limit = 0;            // 0: no soft limit
  uint64_t output_soft_ms = 60000;         // time allowed above the soft limit
  uint64_t idle_ms = 0;                    // 0: idle clients stay
  uint64_t park_ms = 0;                    // idle this long: parked; 0: never
  state::ClientOwner* owner = nullptr;     // the worker: the clients' loop, and their parked form
  ClientBudget* budget = nullptr;          // process-wide memory bound; may be null
  std::function<void(Session*)> on_close;  // the worker forgets and deletes the session
  CommandStats* command_stats = nullptr;   // per-command counts and latency; may be null
  request::Slowlog* slowlog = nullptr;     // may be null
  common::uv::IoCounters* io = nullptr;    // clients' bytes in and out; may be null
};

class Session : public request::ReplyTarget, public state::ClientPort, private common::uv::TcpConnection::Handler {
 public:
  Session(SessionContext& context, common::uv::TcpConnection* conn);
  // A parked client back (its socket adopted by `conn`): as it was, counted once.
  Session(SessionContext& context, common::uv::TcpConnection* conn, state::ParkedState&& parked);
  ~Session() override;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start();
  // Drops the client now (shutdown); the worker deletes the session.
  void close();

  // request::ReplyTarget
  void deliver(uint64_t seq, std::string_view reply) override;
  void addBackendTime(uint64_t seq, uint64_t micros) override;

  size_t pending() const override { return queue_.pending(); }
  // Nothing in flight and no partial command read: closing now loses nothing (shutdown drain).
  bool idle() const { return queue_.pending() == 0 && (!conn_ || conn_->input().empty()); }

  enum class Verdict { kKeep, kIdle, kSoftLimit, kPark };
  // Periodic check (the worker's sweep, every ~100 ms): idle timeout, soft output limit, parking.
  // On kIdle and kSoftLimit the caller logs it and calls drop(); on kPark it calls park().
  Verdict sweep(uint64_t now_ms);
  // Gives the client's socket and what it remembers away (`out`, `fd`), and leaves the session
  // inert for the worker to delete without counting a disconnect; false (nothing changed) if
  // something is in flight after all or the socket cannot be detached.
  bool park(state::ParkedState& out, int& fd);
  // The parked client's fields not in the state: when it was last active, how it connected.
  uint64_t lastActiveMs() const { return last_active_ms_; }
  bool unixSocket() const { return conn_ && conn_->unixSocket(); }
  // The leased command's node is past its deadline (a hung node): fail it and reset the link.
  // May reply to the client, and so may drop the session: call outside any walk of the sessions.
  bool waitsOnDedicated() const { return life_ == Life::kOpen && state_.waitsOnNode(); }
  void checkDedicatedDeadline(uint64_t now_ms) { state_.checkDeadline(now_ms); }
  // Closes the client at once, dropping unsent output, and lets the worker delete the session.
  void drop();
  // Bytes held for this client: unparsed input, unsent output, replies waiting for earlier ones.
  size_t bufferedBytes() const;
  const std::string& peer() const;

 private:
  // kOpen: taking commands. kFinishing: QUIT or a protocol error, no more commands; the
  // connection closes once the replies are out. kClosed: the connection is gone; the session is
  // deleted as soon as none of its calls is on the stack.
  enum class Life : uint8_t { kOpen, kFinishing, kClosed };
  enum class Close : uint8_t { kPeerGone, kFlush, kNow };
  // The one way a session ends.
  void teardown(Close how);
  void destroy();
  // Handles input under a Busy guard; false if the session was destroyed meanwhile.
  bool runInput(common::Buffer& in);
  // Counts our calls on the stack (reads, resumes): the session is not deleted under them.
  struct Busy {
    explicit Busy(Session& s) : session(s) { ++session.busy_; }
    ~Busy() { --session.busy_; }
    Session& session;
  };

  // state::ClientPort
  uint64_t reserve() override { return reservePlace(silent_); }
  uint64_t reservePush() override { return reservePlace(false); }
  void setReplyMode(state::ReplyMode mode) override;
  void complete(uint64_t seq, std::string_view reply) override { deliver(seq, reply); }
  void resume() override { maybeResume(); }
  void closeAfterReplies() override;
  void kill() override;

  void onRead(common::Buffer& in) override;
  void onClosed(int status) override;
  void onDrained() override;
  bool outputFull() const;
  void maybeResume();
  void pauseReading();

  void processInput(common::Buffer& in);
  // False: the command runs alone and waits, parsed, for the replies before it.
  bool handleCommand(std::string_view request_bytes);
  void maybeFinish();
  // Nothing read since the last sweep and nothing in flight: gives back what is kept for reuse.
  void releaseIdleMemory();
  bool parkable() const;

  uint64_t reservePlace(bool silent);
  void finishTiming(uint64_t seq, std::string_view reply);
  void recordSlow(const CommandTiming& timing, uint64_t micros);

  SessionContext& ctx_;
  common::uv::TcpConnection* conn_;
  std::shared_ptr<request::ReplyLink> link_;
  std::shared_ptr<ClientInfo> info_;
  resp::RequestParser parser_;
  ReplyQueue queue_;
  command::Classification classification_;  // reused per command
  std::vector<std::string_view> argv_;      // reused per command
  Life life_ = Life::kOpen;
  unsigned busy_ = 0;
  bool reading_paused_ = false;
  bool parked_ = false;  // gave its client away to the parked form: not a disconnect
  // CLIENT REPLY: OFF in force; SKIP asked (the next command is silenced); the command being
  // handled (and what it answers later) is silenced.
  bool reply_off_ = false;
  bool skip_next_ = false;
  bool silent_ = false;
  size_t held_bytes_ = 0;  // a command parsed but waiting for the replies before it (its length)
  // The command being handled, timed from when it was taken to its first reply place.
  const command::CommandSpec* timing_spec_ = nullptr;
  uint64_t timing_start_us_ = 0;
  state::ClientState state_;

  // Limits (the worker's sweep).
  bool active_ = true;               // read something since the last sweep
  uint64_t last_active_ms_ = 0;      // sweep time when activity was last seen
  uint64_t over_soft_since_ms_ = 0;  // 0: not above the soft output limit
};

}  // namespace slotgate::session
