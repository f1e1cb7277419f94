#include "proxy/session/reply_queue.h"

#include <utility>

namespace slotgate::session {
namespace {

constexpr size_t kInitialPlaces = 4;
constexpr size_t kKeepPlaces = 64;  // a drained ring larger than this is given back
constexpr size_t kKeepReplyCapacity = 256;

}  // namespace

void ReplyQueue::grow() {
  std::vector<Slot> bigger(ring_.empty() ? kInitialPlaces : ring_.size() * 2);
  for (size_t i = 0; i < count_; ++i) bigger[i] = std::move(ring_[(head_ + i) & (ring_.size() - 1)]);
  ring_.swap(bigger);
  head_ = 0;
}

uint64_t ReplyQueue::push(bool silent) {
  if (count_ == ring_.size()) grow();
  Slot& slot = ring_[(head_ + count_) & (ring_.size() - 1)];
  slot.done = false;
  slot.silent = silent;
  slot.timing.spec = nullptr;
  ++count_;
  return head_seq_ + count_ - 1;
}

void ReplyQueue::popFront() {
  Slot& slot = ring_[head_];
  held_bytes_ -= slot.reply.size();
  // Small replies keep their room for the next time round the ring; big ones give it back.
  if (slot.reply.capacity() <= kKeepReplyCapacity) {
    slot.reply.clear();
  } else {
    std::string().swap(slot.reply);
  }
  head_ = (head_ + 1) & (ring_.size() - 1);
  --count_;
  ++head_seq_;
}

size_t ReplyQueue::complete(uint64_t seq, std::string_view reply, common::Buffer& out) {
  if (seq < head_seq_ || seq - head_seq_ >= count_) return 0;  // not ours, or done already
  Slot& slot = at(seq);
  if (slot.done) return 0;
  if (slot.silent) reply = {};
  if (seq != head_seq_) {
    slot.done = true;
    slot.reply.assign(reply);
    held_bytes_ += reply.size();
    return 0;
  }
  if (!reply.empty()) out.append(reply);
  popFront();
  size_t sent = 1;
  while (count_ > 0 && ring_[head_].done) {
    if (!ring_[head_].reply.empty()) out.append(ring_[head_].reply);
    popFront();
    ++sent;
  }
  if (count_ == 0 && ring_.size() > kKeepPlaces) {
    std::vector<Slot>().swap(ring_);
    head_ = 0;
  }
  return sent;
}

}  // namespace slotgate::session
