// One client command on its way to a node and back. It owns the command's bytes (so it can be
// resent after MOVED, ASK, TRYAGAIN or a lost connection), follows redirects through the
// Dispatcher, and hands the final reply to its client's session through a ReplyLink, which the
// session cuts when the client goes away (the reply is then dropped).
//
// A request runs on a lease: the worker's shared pipelined link to the node (no lease set), or a
// link owned by one client (an ExclusiveLease: transaction, WATCH, blocking command). Redirects,
// retries, the failover wait, NOSCRIPT replay and deadlines are this one code path either way.
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
#include "proxy/backend/node_link.h"
#include "proxy/backend/waiter.h"

namespace slotgate::command {
struct CommandSpec;
}

namespace slotgate::request {

class Dispatcher;
class ExclusiveLease;

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
  // The client's requests go on the nodes' script lanes (backend::LinkSource::scriptLane): set
  // when it sends a script, cleared by the session once none of its replies is outstanding, so
  // its commands to a node never overtake one another across two connections.
  bool script_lane = false;
};

class Request : public backend::Waiter, public std::enable_shared_from_this<Request> {
 public:
  static constexpr int kAnyPrimary = -1;

  Request(Dispatcher& dispatcher, std::shared_ptr<ReplyLink> link, uint64_t seq, std::string_view command,
          int slot, bool readonly, const command::CommandSpec* spec = nullptr);
  ~Request() override;

  // One pooled allocation for the request, its control block and (if short) its bytes.
  static std::shared_ptr<Request> make(Dispatcher& dispatcher, std::shared_ptr<ReplyLink> link, uint64_t seq,
                                       std::string_view command, int slot, bool readonly,
                                       const command::CommandSpec* spec = nullptr) {
    return std::allocate_shared<Request>(common::PoolAllocator<Request>(), dispatcher, std::move(link), seq,
                                         command, slot, readonly, spec);
  }

  void onReply(std::string_view reply) override;
  void onFailure(backend::Failure failure, const std::string& node, const std::string& detail) override;
  common::Slice sentBytes(std::string_view bytes) const override;

  // Delivers the proxy's own final error, bypassing redirect and retry handling.
  void fail(std::string_view reply) { complete(reply); }

  std::string_view command() const { return kept_ ? kept_.view() : command_.view(); }
  int slot() const { return slot_; }
  const command::CommandSpec* spec() const { return spec_; }
  // A command for one particular node (fan-out parts, SCAN): never rerouted by slot.
  void pinTo(backend::NodeLink* node) { pinned_ = node; }
  backend::NodeLink* pinned() const { return pinned_; }
  bool abandoned() const { return !link_->target; }
  bool readonly() const { return readonly_; }
  // Sent on its node's script lane rather than the shared link (its client was running a script
  // when it was made).
  bool onScriptLane() const { return script_lane_; }

  // Runs on `lease` instead of the shared links. `stay`: on the lease's current link whatever the
  // slot says (a WATCH in force lives there).
  void setLease(std::shared_ptr<ExclusiveLease> lease, bool stay = false);
  ExclusiveLease* lease() const { return lease_.get(); }
  bool stays() const { return stay_; }
  // The command may take `extra_ms` beyond the backend timeout (a blocking command's own
  // timeout; NodeLink::kNoDeadline: forever).
  void setExtraMs(uint64_t extra_ms) { extra_ms_ = extra_ms; }
  uint64_t extraMs() const { return extra_ms_; }
  // The bytes are MULTI, `commands` queued commands and EXEC: the reply is EXEC's. If a queued
  // command was refused because its slot moved (so nothing ran), the batch goes to the new owner,
  // unless a WATCH is in force (`watching`): then the client gets the aborted-by-WATCH nil.
  void expectBatch(unsigned commands, bool watching, int proto);
  unsigned repliesPerSend() const;

  // Set by the dispatcher as it sends the command: the node it goes to (and when).
  void setNode(backend::NodeLink* node);
  // The link the command goes on at `node`: the shared one, its script lane, or the lease's own.
  backend::NodeLink& linkAt(backend::NodeLink& node);
  // When the request first had to wait for its slot's owner (held for a failover, or its node
  // unreachable); it waits at most failover_wait from then.
  bool waitStarted() const { return wait_start_ms_ != 0; }
  void startWait(uint64_t now_ms) { wait_start_ms_ = now_ms ? now_ms : 1; }
  uint64_t waitStartMs() const { return wait_start_ms_; }

 private:
  struct Batch;

  void complete(std::string_view reply);
  bool handleRedirect(std::string_view error);
  // EXEC's batch: true while replies are still due or the batch was sent again.
  bool handleBatchReply(std::string_view reply);
  bool reloadScript();
  // CLUSTERDOWN (the node had no owner for the slot, or its cluster was down): not executed,
  // so it is sent again while failover_wait lasts. False when the wait is over.
  bool waitForCluster(std::string_view error);
  // Whether a command that never reached its node may wait (longer) for its slot's owner.
  bool mayWaitForOwner();
  // Sends again after a backoff; `counted` retries count against max_redirects.
  void retry(const std::string& why, bool counted = true);

  Dispatcher& dispatcher_;
  std::shared_ptr<ReplyLink> link_;
  uint64_t seq_;
  common::SmallBytes<88> command_;
  common::Slice kept_;  // a large command: its bytes where they were received, not a copy
  int slot_;
  bool readonly_;
  bool script_reloaded_ = false;
  bool script_lane_ = false;
  bool stay_ = false;
  const command::CommandSpec* spec_;
  unsigned attempts_ = 0;           // redirects and retries followed so far
  unsigned waits_ = 0;              // uncounted retries while the node was unreachable
  bool resent_after_loss_ = false;  // a read-only command is resent once after a broken connection
  uint64_t wait_start_ms_ = 0;
  uint64_t extra_ms_ = 0;
  backend::NodeLink* node_ = nullptr;
  backend::NodeLink* pinned_ = nullptr;
  std::shared_ptr<ExclusiveLease> lease_;
  std::unique_ptr<Batch> batch_;
  uint64_t sent_us_ = 0;
  uint64_t backend_us_ = 0;  // summed over redirects and retries
};

using RequestPtr = std::shared_ptr<Request>;

}  // namespace slotgate::request
