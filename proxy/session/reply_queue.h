// The one place that keeps a client's replies in the order of its commands. Each command takes a
// sequence number when it arrives; replies complete in any order; a reply leaves only when every
// earlier one has. The reply at the head goes straight to the output without being stored.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "common/buffer.h"

namespace slotgate::session {

class ReplyQueue {
 public:
  // Reserves the next place; returns its sequence number.
  uint64_t push();
  // Completes `seq` with `reply`; appends to `out` every reply that may now leave, in order.
  // Returns how many replies were appended.
  size_t complete(uint64_t seq, std::string_view reply, common::Buffer& out);

  // Commands whose replies have not left yet.
  size_t pending() const { return slots_.size(); }
  // Bytes of completed replies waiting behind an earlier one.
  size_t heldBytes() const { return held_bytes_; }

 private:
  struct Slot {
    bool done = false;
    std::string reply;
  };

  uint64_t head_seq_ = 0;  // sequence number of slots_.front()
  std::deque<Slot> slots_;
  size_t held_bytes_ = 0;
};

}  // namespace slotgate::session
