#include "proxy/state/transaction.h"

#include <algorithm>

#include "proxy/resp/errors.h"
#include "proxy/resp/writer.h"
#include "proxy/route/plan.h"

namespace slotgate::state {
namespace {

constexpr std::string_view kUnwatch = "*1\r\n$7\r\nUNWATCH\r\n";

}  // namespace

void Transaction::clear() {
  active_ = false;
  dirty_ = false;
  writes_ = false;
  slot_ = watching_ ? watch_slot_ : -1;
  commands_.clear();
  info_.multi.store(-1, std::memory_order_relaxed);
}

void Transaction::clearWatch() {
  watching_ = false;
  watch_slot_ = -1;
  if (!active_) slot_ = -1;
}

bool Transaction::acceptSlot(int key_slot) {
  if (key_slot < 0) return true;
  if (slot_ < 0) slot_ = key_slot;
  return slot_ == key_slot;
}

backend::NodeLink* Transaction::watchLink() const {
  request::ExclusiveLease* lease = exclusive_.lease();
  return watching_ && lease && lease->still(watch_mark_) ? lease->intactLink() : nullptr;
}

void Transaction::multi() {
  if (active_) return port_.reply(resp::err::kMultiNested);
  active_ = true;
  dirty_ = false;
  writes_ = false;
  commands_.clear();
  if (!watching_) slot_ = -1;
  info_.multi.store(0, std::memory_order_relaxed);
  port_.reply("+OK\r\n");
}

void Transaction::queue(const Call& call) {
  const command::CommandSpec& spec = *call.spec;
  if (spec.flags & command::kFlagNoMulti) {
    dirty_ = true;
    return port_.reply(resp::err::kNotInMulti);
  }
  // What slotgate refuses outside a transaction it refuses inside one; what runs on every node
  // (FLUSHALL, DBSIZE, KEYS, SCAN, SCRIPT LOAD, ...) would run on the transaction's node only and
  // answer for a part of the data. Either is a queue-time error: EXEC then answers EXECABORT.
  using command::Policy;
  if (spec.policy == Policy::kUnsupported) {
    dirty_ = true;
    return port_.reply(resp::errorReply(fmt::runtime(resp::err::kUnsupported), route::displayName(spec)));
  }
  if (spec.policy == Policy::kAllPrimaries || spec.policy == Policy::kAllNodes || spec.policy == Policy::kCursor) {
    dirty_ = true;
    return port_.reply(resp::errorReply(fmt::runtime(resp::err::kEveryNodeInMulti), route::displayName(spec)));
  }
  if (spec.handler == command::Handler::kClientReply || spec.handler == command::Handler::kClientUnblock) {
    dirty_ = true;
    return port_.reply(resp::errorReply(fmt::runtime(resp::err::kProxyClientInMulti), route::displayName(spec)));
  }
  bool cross = false;
  int slot = call.keysSlot(&cross);
  if (cross || !acceptSlot(slot)) {
    dirty_ = true;
    return port_.reply(resp::err::kCrossSlot);
  }
  commands_.push_back(call.encoded());
  if (!(spec.flags & command::kFlagReadonly)) writes_ = true;
  info_.multi.store(static_cast<int>(commands_.size()), std::memory_order_relaxed);
  port_.reply("+QUEUED\r\n");
}

void Transaction::discard() {
  if (!active_) return port_.reply(resp::err::kDiscardWithoutMulti);
  if (backend::NodeLink* link = watchLink()) link->send(nullptr, kUnwatch);
  clearWatch();
  clear();
  port_.reply("+OK\r\n");
}

// MULTI, the queued commands and EXEC leave as one request on the lease, expecting all their
// replies (Request::expectBatch says what happens when the slot moved meanwhile).
void Transaction::exec(request::Dispatcher& dispatcher, const command::CommandSpec* spec, int proto) {
  if (!active_) return port_.reply(resp::err::kExecWithoutMulti);
  std::vector<std::string> batch = std::move(commands_);
  bool writes = writes_;
  bool dirty = dirty_;
  bool watching = watching_;
  int slot = slot_;
  // The node forgets WATCH at EXEC, whatever the outcome.
  backend::NodeLink* watch_link = watchLink();
  clearWatch();
  clear();
  if (dirty) {
    if (watch_link) watch_link->send(nullptr, kUnwatch);
    return port_.reply(resp::err::kExecAbort);
  }
  uint64_t seq = port_.reserve();
  exclusive_.begin(ExclusiveCommands::Kind::kExec, seq);
  if (watching && !watch_link) {
    // The connection that held the WATCH is gone: a watched key may have changed unseen.
    std::string null;
    resp::appendNullArray(null, proto);
    return port_.complete(seq, null);
  }
  std::string bytes = "*1\r\n$5\r\nMULTI\r\n";
  for (const std::string& command : batch) bytes += command;
  bytes += "*1\r\n$4\r\nEXEC\r\n";
  // A WATCH in force, or a keyless transaction after earlier leased commands: where the lease is.
  request::ExclusiveLease* lease = exclusive_.lease();
  bool stay = watching || (slot < 0 && lease && lease->intactLink());
  auto request = exclusive_.leased(dispatcher, spec, seq, bytes, slot, false, stay);
  request->expectBatch(static_cast<unsigned>(batch.size()), watching, proto);
  if (writes) exclusive_.noteWrite();
  dispatcher.dispatch(request);
}

void Transaction::watch(const Call& call, request::Dispatcher& dispatcher) {
  bool cross = false;
  int slot = call.keysSlot(&cross);
  if (cross) return port_.reply(resp::err::kCrossSlot);
  if (active_) return port_.reply(resp::err::kWatchInMulti);
  if (watching_ && slot != watch_slot_) return port_.reply(resp::err::kCrossSlot);
  uint64_t seq = port_.reserve();
  exclusive_.begin(ExclusiveCommands::Kind::kWatch, seq);
  watch_pending_slot_ = slot;
  // A WATCH already in force lives on the lease's link: the new one joins it there.
  bool stay = watchLink() != nullptr;
  dispatcher.dispatch(
      exclusive_.leased(dispatcher, call.spec, seq, call.encoded(), std::max(slot, 0), true, stay));
}

void Transaction::watchAnswered(std::string_view reply) {
  if (!reply.starts_with("+OK") || !exclusive_.lease()) return;
  watching_ = true;
  watch_slot_ = watch_pending_slot_;
  slot_ = watch_pending_slot_;
  watch_mark_ = exclusive_.lease()->mark();
}

void Transaction::unwatch() {
  if (backend::NodeLink* link = watchLink()) link->send(nullptr, kUnwatch);
  clearWatch();
  port_.reply("+OK\r\n");
}

void Transaction::reset() {
  clearWatch();
  clear();
}

}  // namespace slotgate::state
