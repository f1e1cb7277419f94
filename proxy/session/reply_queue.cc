#include "proxy/session/reply_queue.h"

namespace slotgate::session {

uint64_t ReplyQueue::push() {
  slots_.emplace_back();
  return head_seq_ + slots_.size() - 1;
}

size_t ReplyQueue::complete(uint64_t seq, std::string_view reply, common::Buffer& out) {
  if (seq < head_seq_ || seq - head_seq_ >= slots_.size()) return 0;  // not ours, or done already
  Slot& slot = slots_[seq - head_seq_];
  if (slot.done) return 0;
  if (seq != head_seq_) {
    slot.done = true;
    slot.reply.assign(reply);
    held_bytes_ += reply.size();
    return 0;
  }
  out.append(reply);
  slots_.pop_front();
  ++head_seq_;
  size_t sent = 1;
  while (!slots_.empty() && slots_.front().done) {
    out.append(slots_.front().reply);
    held_bytes_ -= slots_.front().reply.size();
    slots_.pop_front();
    ++head_seq_;
    ++sent;
  }
  return sent;
}

}  // namespace slotgate::session
