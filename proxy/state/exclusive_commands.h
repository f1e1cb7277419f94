// The commands of one client that run alone (WATCH, EXEC, blocking commands, WAIT, pub/sub
// changes): one at a time, after every earlier reply, and the client's next command waits for
// them, the order a single Redis would give. Those that need a node connection of their own run
// as requests on the client's exclusive lease, made on first use.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "common/clock.h"
#include "proxy/request/dispatcher.h"
#include "proxy/request/exclusive_lease.h"
#include "proxy/request/request.h"
#include "proxy/state/parked_state.h"

namespace slotgate::state {

class ExclusiveCommands {
 public:
  enum class Kind : uint8_t { kNone, kWatch, kExec, kBlocking, kWait, kPubSub };

  ExclusiveCommands(common::Clock& clock, std::shared_ptr<request::ReplyLink> link)
      : clock_(clock), link_(std::move(link)) {}
  ~ExclusiveCommands() { releaseLease(); }
  ExclusiveCommands(const ExclusiveCommands&) = delete;
  ExclusiveCommands& operator=(const ExclusiveCommands&) = delete;

  bool busy() const { return kind_ != Kind::kNone; }
  Kind kind() const { return kind_; }
  uint64_t seq() const { return seq_; }
  // `seq` is the reply place of the command running alone.
  void begin(Kind kind, uint64_t seq) {
    kind_ = kind;
    seq_ = seq;
  }
  bool owns(uint64_t seq) const { return busy() && kind_ != Kind::kPubSub && seq == seq_; }
  void end() { kind_ = Kind::kNone; }

  // A request for reply place `seq` on the lease (made from `dispatcher`'s links on first use).
  // `stay`: on the lease's current link whatever the slot says.
  request::RequestPtr leased(request::Dispatcher& dispatcher, const command::CommandSpec* spec, uint64_t seq,
                             std::string_view bytes, int slot, bool readonly, bool stay);
  request::ExclusiveLease* lease() const { return lease_.get(); }
  // Closes the lease's link (RESET, HELLO changed the protocol, the client left).
  void releaseLease();
  // A leased command waits for its node: the worker checks its deadline.
  bool waitsOnNode() const { return lease_ && lease_->busy(); }
  void checkDeadline(uint64_t now_ms) {
    if (lease_) lease_->checkTimeout(now_ms);
  }
  // Whether the lease's link carried writes since the last WAIT (which then waits there too).
  void noteWrite() { wrote_ = true; }
  bool takeWrote() {
    bool wrote = wrote_;
    wrote_ = false;
    return wrote;
  }
  // Parking (nothing runs alone): a lease that carried writes is kept for the next WAIT; an idle
  // one is let go and made again on the next command that needs it.
  void park(ParkedState& out) {
    if (wrote_ && lease_) {
      out.lease = std::move(lease_);
    } else {
      releaseLease();
    }
    wrote_ = false;
  }
  void restore(ParkedState& in) {
    lease_ = std::move(in.lease);
    wrote_ = lease_ != nullptr;  // kept only when it carried writes
  }

 private:
  common::Clock& clock_;
  std::shared_ptr<request::ReplyLink> link_;
  std::shared_ptr<request::ExclusiveLease> lease_;
  Kind kind_ = Kind::kNone;
  uint64_t seq_ = 0;
  bool wrote_ = false;
};

}  // namespace slotgate::state
