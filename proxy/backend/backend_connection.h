// One pipelined connection from a worker to one node, shared by all the worker's clients. Commands
// are written in the order sent and their waiters queue in a FIFO; each reply goes to the waiter at
// the head. A connection that breaks fails every waiter it holds (none is ever handed another's
// reply) and reconnects on the next send, after a backoff while the node keeps refusing.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/uv/tcp_connection.h"
#include "config/config.h"
#include "proxy/backend/waiter.h"
#include "proxy/resp/reply_scanner.h"

namespace slotgate::common::uv {
class EventLoop;
}

namespace slotgate::backend {

struct BackendOptions {
  uint64_t connect_timeout_ms = 1000;
  uint64_t op_timeout_ms = 5000;
  // Sent first on every new connection (AUTH, HELLO 3), one discarded reply per command; a
  // failure is logged. Built by handshakeFor().
  std::string handshake;
  unsigned handshake_commands = 0;
};

// The handshake for a protocol version (2 or 3) and the nodes' credentials (both may be empty).
void setHandshake(BackendOptions& options, int proto, const std::string& user, const std::string& password);
// Timeouts and credentials from the config, for connections speaking `proto`.
BackendOptions backendOptions(const config::Config& config, int proto);

class BackendConnection : private common::uv::TcpConnection::Handler {
 public:
  BackendConnection(common::uv::EventLoop& loop, std::string host, uint16_t port,
                    const BackendOptions& options);
  ~BackendConnection() override;
  BackendConnection(const BackendConnection&) = delete;
  BackendConnection& operator=(const BackendConnection&) = delete;

  // `extra_ms` for send(): the command may take that long beyond the op timeout (a blocking
  // command's own timeout); kNoDeadline: it may take forever (BLPOP key 0).
  static constexpr uint64_t kNoDeadline = UINT64_MAX;

  // Queues `command` (complete RESP bytes); `asking` sends ASKING first on the same connection.
  // A null waiter discards the reply. If the node is known unreachable (backing off), the waiter
  // hears kUnreachable at once.
  void send(WaiterPtr waiter, std::string_view command, bool asking = false, uint64_t extra_ms = 0);

  // Writes `command` with no waiter: its replies go to the push handler (pub/sub connections).
  void sendRaw(std::string_view command);
  // Replies nobody waits for (pub/sub messages, RESP3 pushes) go here instead of closing the
  // connection as a protocol error.
  void setPushHandler(std::function<void(std::string_view)> handler) { push_handler_ = std::move(handler); }
  // Told when the connection closes or cannot be made (after its waiters have been failed).
  void setCloseHandler(std::function<void(const std::string&)> handler) { close_handler_ = std::move(handler); }
  // Counts TCP connections made so far: a change means per-connection state (WATCH, SUBSCRIBE)
  // on the node was lost.
  uint64_t generation() const { return generation_; }
  // Closes the socket as soon as no command waits on it (its node left the cluster). A later
  // send() cancels this and reconnects.
  void closeWhenIdle();

  // Fails the head waiter with kTimeout (and resets the connection) once its deadline (sent +
  // op timeout + extra) has passed.
  void checkTimeout(uint64_t now_ms);

  const std::string& host() const { return host_; }
  uint16_t port() const { return port_; }
  const std::string& address() const { return address_; }
  bool connected() const { return conn_ && !connecting_; }
  void setOptions(const BackendOptions& options) { options_ = options; }
  // Where the connection's bytes are counted (the pool's); may be null.
  void setIoCounters(common::uv::IoCounters* io) { io_ = io; }
  // Refusing sends right now: the last connect failed and the backoff has not passed.
  bool down() const;
  // The last connect failed and none succeeded since (the backoff may have passed).
  bool failing() const { return connect_failed_; }
  // Starts a connect in the background if none is open and the backoff has passed; a failing
  // node is retried this way without a client's command riding on it.
  void probe();
  // Send READONLY first on every connection (replica reads). Takes effect on the next connect,
  // or at once on an open connection.
  void setReadonly(bool readonly);
  // Successful connects since start (more than one means reconnects).
  uint64_t connects() const { return connects_; }
  uint64_t connectFailures() const { return connect_failures_; }
  size_t inFlight() const { return fifo_.size(); }
  // A recent connect failed: sends fail at once until the backoff ends.
  bool backingOff() const;

 private:
  struct Entry {
    WaiterPtr waiter;
    uint64_t deadline_ms;
    bool written;  // handed to a connected socket (else still waiting for the connection)
  };

  void ensureConnection();
  // Fails every waiter: kUnreachable if its command never left, else `connected_failure`, except
  // the oldest written command, which gets `head_failure` when given.
  void failAll(Failure connected_failure, const std::string& detail,
               std::optional<Failure> head_failure = std::nullopt);
  void onConnected(int status) override;
  void onRead(common::Buffer& in) override;
  void onClosed(int status) override;

  common::uv::EventLoop& loop_;
  std::string host_;
  uint16_t port_;
  std::string address_;
  BackendOptions options_;
  common::uv::TcpConnection* conn_ = nullptr;  // owned by libuv; we close it
  bool connecting_ = false;
  std::deque<Entry> fifo_;
  resp::ReplyScanner scanner_;
  uint64_t down_until_ms_ = 0;  // refusing sends until then after a failed connect
  uint64_t backoff_ms_ = 0;
  std::string last_error_;
  bool warned_down_ = false;
  uint64_t generation_ = 0;
  std::function<void(std::string_view)> push_handler_;
  std::function<void(const std::string&)> close_handler_;
  bool close_when_idle_ = false;
  bool readonly_ = false;
  bool connect_failed_ = false;
  common::uv::IoCounters* io_ = nullptr;
  uint64_t connects_ = 0;
  uint64_t connect_failures_ = 0;
};

}  // namespace slotgate::backend
