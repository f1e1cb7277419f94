// What a request needs of a connection to one node. BackendConnection is the real one; unit tests
// use a fake that records what is sent and lets the test answer, fail or close it.
//
// The promise: every send() reaches its waiter either as exactly `replies` onReply() calls, in
// order, or as one onFailure() (after zero or more replies), never both for the same reply and
// never someone else's reply.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "proxy/backend/waiter.h"

namespace slotgate::backend {

class NodeLink {
 public:
  // `extra_ms` for send(): the command may take that long beyond the op timeout (a blocking
  // command's own timeout); kNoDeadline: it may take forever (BLPOP key 0).
  static constexpr uint64_t kNoDeadline = UINT64_MAX;

  virtual ~NodeLink() = default;

  // Queues `command` (complete RESP bytes, possibly several commands: a MULTI ... EXEC batch)
  // whose `replies` replies all go to `waiter`; `asking` sends ASKING first on the same
  // connection. A null waiter discards the replies. If the node is known unreachable (backing
  // off), the waiter hears kUnreachable at once.
  virtual void send(WaiterPtr waiter, std::string_view command, bool asking = false, uint64_t extra_ms = 0,
                    unsigned replies = 1) = 0;
  // Writes `command` with no waiter: its replies go to the push handler (pub/sub connections).
  virtual void sendRaw(std::string_view command) = 0;
  // Replies nobody waits for (pub/sub messages, RESP3 pushes).
  virtual void setPushHandler(std::function<void(std::string_view)> handler) = 0;
  // Told when the connection closes, is reset or cannot be made (after its waiters were failed).
  virtual void setCloseHandler(std::function<void(const std::string&)> handler) = 0;

  virtual const std::string& host() const = 0;
  virtual uint16_t port() const = 0;
  virtual const std::string& address() const = 0;
  // Counts TCP connections made so far: a change means per-connection state on the node (WATCH,
  // SUBSCRIBE) was lost.
  virtual uint64_t generation() const = 0;
  // Sends waiting for their replies.
  virtual size_t inFlight() const = 0;
  virtual bool connected() const = 0;
  // The last connect failed and none succeeded since.
  virtual bool failing() const = 0;
  // A recent connect failed: sends fail at once until the backoff ends.
  virtual bool backingOff() const = 0;
  // Connects in the background if nothing is open and the backoff has passed.
  virtual void probe() = 0;
  // Send READONLY first on every connection (replica reads).
  virtual void setReadonly(bool readonly) = 0;
  // Fails the oldest send with kTimeout (and resets the connection) once its deadline passed.
  virtual void checkTimeout(uint64_t now_ms) = 0;
  // Closes the connection once nothing waits on it; a later send() reconnects.
  virtual void closeWhenIdle() = 0;
};

}  // namespace slotgate::backend
