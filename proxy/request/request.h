// One client command on its way to a node and back. It owns the command's bytes (so it can be
// resent after MOVED, ASK, TRYAGAIN or a lost connection), follows redirects through the
// Dispatcher, and hands the final reply to its client's session through a ReplyLink, which the
// session cuts when the client goes away (the reply is then dropped).
// When a node fails: a command that never left is sent again once the map has moved on (for up to
// failover_wait); a read-only command in flight is resent once; a write in flight gets an error
// saying its outcome is unknown, never a silent retry.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/pool_allocator.h"
#include "common/small_bytes.h"
#include "proxy/backend/waiter.h"

namespace slotgate::backend {
class BackendConnection;
}

namespace slotgate::request {

class Dispatcher;

// Where replies go: the session, which keeps them in command order.
class ReplyTarget {
 public:
  virtual ~ReplyTarget() = default;
  virtual void deliver(uint64_t seq, std::string_view reply) = 0;
  // Just before deliver(): how long `seq` waited for nodes, in µs (for SLOWLOG).
  virtual void addBackendTime(uint64_t seq, uint64_t micros) {
    (void)seq;
    (void)micros;
  }
};

// Microseconds on a monotonic clock.
uint64_t monotonicMicros();

struct ReplyLink {
  ReplyTarget* target = nullptr;  // null once the client is gone
};

class Request : public backend::Waiter, public std::enable_shared_from_this<Request> {
 public:
  static constexpr int kAnyPrimary = -1;

  Request(Dispatcher& dispatcher, std::shared_ptr<ReplyLink> link, uint64_t seq, std::string_view command,
          int slot, bool readonly)
      : dispatcher_(dispatcher), link_(std::move(link)), seq_(seq), command_(command), slot_(slot),
        readonly_(readonly) {}

  // One pooled allocation for the request, its control block and (if short) its bytes.
  static std::shared_ptr<Request> make(Dispatcher& dispatcher, std::shared_ptr<ReplyLink> link, uint64_t seq,
                                       std::string_view command, int slot, bool readonly) {
    return std::allocate_shared<Request>(common::PoolAllocator<Request>(), dispatcher, std::move(link), seq,
                                         command, slot, readonly);
  }

  void onReply(std::string_view reply) override;
  void onFailure(backend::Failure failure, const std::string& node, const std::string& detail) override;

  // Delivers the proxy's own final error, bypassing redirect and retry handling.
  void fail(std::string_view reply) { complete(reply); }

  std::string_view command() const { return command_.view(); }
  int slot() const { return slot_; }
  // A command for one particular node (fan-out parts, SCAN): never rerouted by slot.
  void pinTo(backend::BackendConnection* node) { pinned_ = node; }
  backend::BackendConnection* pinned() const { return pinned_; }
  bool abandoned() const { return !link_->target; }
  bool readonly() const { return readonly_; }
  // Set by the dispatcher as it sends the command: the node it goes to (and when).
  void setNode(backend::BackendConnection* node) {
    node_ = node;
    sent_us_ = monotonicMicros();
  }
  // When the request first had to wait for its slot's owner (held for a failover, or its node
  // unreachable); it waits at most failover_wait from then.
  bool waitStarted() const { return wait_start_ms_ != 0; }
  void startWait(uint64_t now_ms) { wait_start_ms_ = now_ms ? now_ms : 1; }
  uint64_t waitStartMs() const { return wait_start_ms_; }

 private:
  void complete(std::string_view reply);
  bool handleRedirect(std::string_view error);
  bool reloadScript();
  // CLUSTERDOWN (the node had no owner for the slot, or its cluster was down): not executed,
  // so it is sent again while failover_wait lasts. False when the wait is over.
  bool waitForCluster(std::string_view error);
  // Sends again after a backoff; `counted` retries count against max_redirects.
  void retry(const std::string& why, bool counted = true);

  Dispatcher& dispatcher_;
  std::shared_ptr<ReplyLink> link_;
  uint64_t seq_;
  common::SmallBytes<88> command_;
  int slot_;
  bool readonly_;
  bool script_reloaded_ = false;
  unsigned attempts_ = 0;  // redirects and retries followed so far
  unsigned waits_ = 0;     // uncounted retries while the node was unreachable
  bool resent_after_loss_ = false;  // a read-only command is resent once after a broken connection
  uint64_t wait_start_ms_ = 0;
  backend::BackendConnection* node_ = nullptr;
  backend::BackendConnection* pinned_ = nullptr;
  uint64_t sent_us_ = 0;
  uint64_t backend_us_ = 0;  // summed over redirects and retries
};

using RequestPtr = std::shared_ptr<Request>;

}  // namespace slotgate::request
