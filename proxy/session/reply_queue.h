// The one place that keeps a client's replies in the order of its commands. Each command takes a
// sequence number when it arrives; replies complete in any order; a reply leaves only when every
// earlier one has. The reply at the head goes straight to the output without being stored.
//
// Each place also holds its command's timing (CommandTiming), so timing needs no structure of its own.
//
// Places live in a ring that is allocated on first use and given back once a long pipeline has
// drained, so an idle client costs nothing here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/buffer.h"
#include "proxy/session/command_timing.h"

namespace slotgate::session {

class ReplyQueue {
 public:
  // Reserves the next place; returns its sequence number. A `silent` place (CLIENT REPLY OFF or
  // SKIP) keeps its turn but its reply is dropped.
  uint64_t push(bool silent = false);
  // Completes `seq` with `reply`; appends to `out` every reply that may now leave, in order.
  // Returns how many replies left (silent ones included).
  size_t complete(uint64_t seq, std::string_view reply, common::Buffer& out);

  // The timing kept in `seq`'s place; null if the place is not waiting for its reply.
  CommandTiming* timing(uint64_t seq) {
    if (seq < head_seq_ || seq - head_seq_ >= count_) return nullptr;
    Slot& slot = at(seq);
    return slot.done ? nullptr : &slot.timing;
  }

  // The sequence number the next push() will return.
  uint64_t nextSeq() const { return head_seq_ + count_; }
  // Commands whose replies have not left yet.
  size_t pending() const { return count_; }
  // Bytes of completed replies waiting behind an earlier one.
  size_t heldBytes() const { return held_bytes_; }

 private:
  struct Slot {
    bool done = false;
    bool silent = false;
    std::string reply;
    CommandTiming timing;
  };

  Slot& at(uint64_t seq) { return ring_[(head_ + (seq - head_seq_)) & (ring_.size() - 1)]; }
  void grow();
  void popFront();

  std::vector<Slot> ring_;  // size is zero or a power of two
  size_t head_ = 0;         // ring index of the oldest place
  size_t count_ = 0;
  uint64_t head_seq_ = 0;  // sequence number of the oldest place
  size_t held_bytes_ = 0;
};

}  // namespace slotgate::session
