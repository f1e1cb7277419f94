// One pipelined connection from a worker to one node, shared by all the worker's clients. Commands
// are written in the order sent and their waiters queue in a FIFO; each reply goes to the waiter at
// the head. A connection that breaks fails every waiter it holds (none is ever handed another's
// reply) and reconnects on the next send, after a backoff while the node keeps refusing.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/tls/tls_context.h"
#include "common/uv/tcp_connection.h"
#include "config/config.h"
#include "proxy/backend/node_link.h"
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
  // Spare links kept connected per primary for exclusive use (BackendPool).
  unsigned spare_links = 1;
  // Set: every connection speaks TLS (backend.tls), checked against the host it dials.
  common::tls::TlsContextPtr tls;
};

// The handshake for a protocol version (2 or 3) and the nodes' credentials (both may be empty).
void setHandshake(BackendOptions& options, int proto, const std::string& user, const std::string& password);
// Timeouts and credentials from the config, for connections speaking `proto`; `tls` when the
// nodes are reached over TLS.
BackendOptions backendOptions(const config::Config& config, int proto, common::tls::TlsContextPtr tls = nullptr);

class BackendConnection final : public NodeLink, private common::uv::TcpConnection::Handler {
 public:
  BackendConnection(common::uv::EventLoop& loop, std::string host, uint16_t port, const BackendOptions& options);
  ~BackendConnection() override;
  BackendConnection(const BackendConnection&) = delete;
  BackendConnection& operator=(const BackendConnection&) = delete;

  // NodeLink: see node_link.h.
  void send(WaiterPtr waiter, std::string_view command, bool asking = false, uint64_t extra_ms = 0,
            unsigned replies = 1) override;
  void sendRaw(std::string_view command) override;
  void setPushHandler(std::function<void(std::string_view)> handler) override {
    push_handler_ = std::move(handler);
  }
  void setCloseHandler(std::function<void(const std::string&)> handler) override {
    close_handler_ = std::move(handler);
  }
  uint64_t generation() const override { return generation_; }
  // Closes the socket as soon as no command waits on it (its node left the cluster). A later
  // send() cancels this and reconnects.
  void closeWhenIdle() override;

  // Once the head's deadline (sent + op timeout + extra) has passed, asks the node on a second
  // connection whether it is alive (PING): a node that answers, even -BUSY (a script runs), is
  // given another op timeout; one that does not answer in an op timeout fails the head with
  // kTimeout and the connection is reset.
  void checkTimeout(uint64_t now_ms) override;

  const std::string& host() const override { return host_; }
  uint16_t port() const override { return port_; }
  const std::string& address() const override { return address_; }
  bool connected() const override { return conn_ && !connecting_; }
  // A connect is under way.
  bool connecting() const { return conn_ && connecting_; }
  void setOptions(const BackendOptions& options) { options_ = options; }
  // Where the connection's bytes are counted (the pool's); may be null.
  void setIoCounters(common::uv::IoCounters* io) { io_ = io; }
  // Refusing sends right now: the last connect failed and the backoff has not passed.
  bool down() const;
  // The last connect failed and none succeeded since (the backoff may have passed).
  bool failing() const override { return connect_failed_; }
  // Starts a connect in the background if none is open and the backoff has passed; a failing
  // node is retried this way without a client's command riding on it.
  void probe() override;
  // Send READONLY first on every connection (replica reads). Takes effect on the next connect,
  // or at once on an open connection.
  void setReadonly(bool readonly) override;
  // Successful connects since start (more than one means reconnects).
  uint64_t connects() const { return connects_; }
  uint64_t connectFailures() const { return connect_failures_; }
  // Why the last connect failed or the connection was lost ("" before any).
  const std::string& lastError() const { return last_error_; }
  size_t inFlight() const override { return fifo_.size(); }
  // A recent connect failed: sends fail at once until the backoff ends.
  bool backingOff() const override;
  // The liveness probe's outcome (checkTimeout); called by the probe's waiter.
  void onProbeAnswered();
  void onProbeFailed();

 private:
  struct Entry {
    WaiterPtr waiter;
    uint64_t deadline_ms;
    bool written;          // handed to a connected socket (else still waiting for the connection)
    unsigned replies = 1;  // replies still owed to the waiter (a MULTI ... EXEC batch owes several)
  };

  void ensureConnection();
  // Fails every waiter: kUnreachable if its command never left, else `connected_failure`, except
  // the oldest written command, which gets `head_failure` when given.
  void failAll(Failure connected_failure, const std::string& detail,
               std::optional<Failure> head_failure = std::nullopt);
  // Closes the socket at once after a protocol error or a timeout.
  void reset(const std::string& why, std::optional<Failure> head_failure);
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
  uint64_t down_until_ms_ = 0;    // refusing sends until then after a failed connect
  unsigned failed_connects_ = 0;  // in a row: the step on the retry policy's backoff curve
  std::string last_error_;
  bool warned_down_ = false;
  uint64_t generation_ = 0;
  std::function<void(std::string_view)> push_handler_;
  std::function<void(const std::string&)> close_handler_;
  bool close_when_idle_ = false;
  bool readonly_ = false;
  bool connect_failed_ = false;
  common::uv::IoCounters* io_ = nullptr;
  // The liveness probe's own connection, made on the first overdue reply (never for a probe).
  std::unique_ptr<BackendConnection> probe_link_;
  bool is_probe_ = false;
  bool probing_ = false;
  // Cleared when this connection goes: the probe's waiter may outlive it.
  std::shared_ptr<BackendConnection*> self_ = std::make_shared<BackendConnection*>(this);
  uint64_t connects_ = 0;
  uint64_t connect_failures_ = 0;
};

}  // namespace slotgate::backend
