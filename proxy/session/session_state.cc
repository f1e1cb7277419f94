// The Session's commands that hold node-side state: MULTI/EXEC/DISCARD, WATCH/UNWATCH,
// blocking commands, WAIT and pub/sub. See session.h for the ordering rule they follow, and
// session_dedicated.cc for the dedicated connection they run on.
#include <algorithm>

#include "common/ascii.h"
#include "common/digest.h"
#include "common/log.h"
#include "common/uv/event_loop.h"
#include "proxy/backend/callback_waiter.h"
#include "proxy/command/block_timeout.h"
#include "proxy/command/key_slot.h"
#include "proxy/resp/errors.h"
#include "proxy/resp/number.h"
#include "proxy/resp/writer.h"
#include "proxy/route/plan.h"
#include "proxy/session/session.h"

namespace slotgate::session {
namespace {

constexpr size_t kMaxWrittenSlots = 64;  // past this, WAIT asks every primary
constexpr uint64_t kWaitChunkMs = 100;   // WAIT holds a shared node connection at most this long

}  // namespace

Session::Step Session::handleStateful(const command::CommandSpec& spec, std::string_view name, std::string_view raw) {
  info_->last_command.store(spec.name, std::memory_order_relaxed);
  bool subscribed = subs_ && subs_->active();
  bool pubsub_command = common::isOneOf(name, {"subscribe", "psubscribe", "unsubscribe", "punsubscribe", "ssubscribe",
                                       "sunsubscribe"});
  if (subscribed && proto_ == 2 && !pubsub_command && !common::isOneOf(name, {"ping", "quit", "reset"})) {
    replyNow(resp::errorReply(fmt::runtime(resp::err::kSubscribedContext), std::string(name)));
    return Step::kDone;
  }
  if (tx_.active && !common::isOneOf(name, {"multi", "exec", "discard", "watch", "quit", "reset"})) {
    queueInTransaction(spec, raw);
    return Step::kDone;
  }
  // What runs alone waits for the replies before it.
  bool alone = common::isOneOf(name, {"exec", "watch", "wait", "reset"}) || pubsub_command ||
               (name == "unwatch" && tx_.watching) || (name == "ping" && subscribed && proto_ == 2) ||
               (spec.flags & command::kFlagBlocking);
  if (alone && queue_.pending() > 0) return Step::kWaitForDrain;

  if (pubsub_command || (name == "ping" && subscribed && proto_ == 2)) {
    if (name == "ssubscribe" || name == "sunsubscribe") {
      // As Redis Cluster: shard channels of one command share a slot (their order of
      // confirmation could not be a standalone server's otherwise).
      bool cross = false;
      keysSlot(&cross);
      if (cross) {
        replyNow(resp::err::kCrossSlot);
        return Step::kDone;
      }
    }
    subscription(name);
    return Step::kDone;
  }
  if (name == "multi") multi();
  else if (name == "exec") exec();
  else if (name == "discard") discard();
  else if (name == "unwatch") unwatch();
  else if (name == "auth") auth();
  else if (name == "hello") hello();
  else if (name == "reset") reset();
  else if (name == "wait") wait();
  else if (name.starts_with("client|")) client(name.substr(7));
  else if (name == "watch" || (spec.flags & command::kFlagBlocking)) {
    bool cross = false;
    int slot = keysSlot(&cross);
    if (cross) {
      replyNow(resp::err::kCrossSlot);
      return Step::kDone;
    }
    bool block_arg = std::any_of(argv_.begin() + 1, argv_.end(), [](std::string_view a) { return common::toLower(a) == "block"; });
    bool stream_read = name == "xread" || name == "xreadgroup";
    if (name == "watch") {
      watch(slot, raw);
    } else if (stream_read && !block_arg) {
      // XREAD without BLOCK never blocks: an ordinary request.
      route::Plan plan;
      plan.kind = slot < 0 ? route::Plan::Kind::kAnyPrimary : route::Plan::Kind::kSlot;
      plan.slot = static_cast<uint16_t>(std::max(slot, 0));
      plan.readonly = !(spec.flags & command::kFlagWrite);
      executor().execute(plan, spec, argv_, raw, link_, queue_.push());
    } else {
      blocking(slot, raw, !(spec.flags & command::kFlagWrite));
    }
  } else {
    // QUIT, PING and the rest when subscribed (RESP3) or otherwise not the session's own.
    route::Plan plan = route::plan(spec, argv_, classification_.key_positions);
    if (spec.flags & command::kFlagWrite) noteWrite(plan);
    auto outcome = executor().execute(plan, spec, argv_, raw, link_, queue_.push());
    if (outcome.close_after) closeAfterReplies();
  }
  return Step::kDone;
}

int Session::keysSlot(bool* cross_slot) {
  int slot = -1;
  *cross_slot = false;
  for (uint32_t position : classification_.key_positions) {
    int key_slot = command::keyHashSlot(argv_[position]);
    if (slot >= 0 && key_slot != slot) *cross_slot = true;
    slot = key_slot;
  }
  return slot;
}

std::string Session::encodedCommand(std::string_view raw) const {
  if (!raw.empty()) return std::string(raw);
  std::string out;
  resp::appendCommand(out, argv_);
  return out;
}

void Session::noteWrite(const route::Plan& plan) {
  if (wrote_everywhere_) return;
  auto note = [this](uint16_t slot) {
    if (std::find(written_slots_.begin(), written_slots_.end(), slot) != written_slots_.end()) return;
    if (written_slots_.size() >= kMaxWrittenSlots) wrote_everywhere_ = true;
    else written_slots_.push_back(slot);
  };
  switch (plan.kind) {
    case route::Plan::Kind::kSlot: note(plan.slot); break;
    case route::Plan::Kind::kSplit:
      for (const route::SlotGroup& group : plan.groups) note(group.slot);
      break;
    case route::Plan::Kind::kAnyPrimary:
    case route::Plan::Kind::kAllPrimaries:
    case route::Plan::Kind::kAllNodes:
      wrote_everywhere_ = true;
      break;
    default: break;
  }
}

void Session::blocking(int slot, std::string_view raw, bool readonly) {
  uint64_t seq = queue_.push();
  exclusive_busy_ = true;
  info_->blocked.store(true, std::memory_order_relaxed);
  backend::BackendConnection* owner = slot >= 0 ? dispatcher().ownerOf(static_cast<uint16_t>(slot))
                                                : dispatcher().anyPrimary();
  if (!owner) return finishExclusive(seq, dispatcher().hasTopology() ? resp::err::kSlotNotServed : resp::err::kNoTopology);
  std::shared_ptr<request::ReplyLink> guard = link_;
  auto command = std::make_shared<PinnedCommand>();
  command->bytes = encodedCommand(raw);
  command->readonly = readonly;
  command->extra_ms = command::blockTimeoutMs(argv_);
  command->slot = slot;
  command->started_ms = ctx_.loop->nowMs();
  command->on_success = [guard, seq](std::string_view reply) {
    if (auto* self = static_cast<Session*>(guard->target)) self->finishExclusive(seq, reply);
  };
  sendPinned(seq, std::move(command), owner->host(), owner->port(), false, 0);
}

// ---- transactions ----------------------------------------------------------------------------

void Session::multi() {
  if (tx_.active) return replyNow(resp::err::kMultiNested);
  tx_.active = true;
  tx_.dirty = false;
  tx_.commands.clear();
  if (!tx_.watching) tx_.slot = -1;
  info_->multi.store(0, std::memory_order_relaxed);
  replyNow("+OK\r\n");
}

void Session::queueInTransaction(const command::CommandSpec& spec, std::string_view raw) {
  if (spec.flags & command::kFlagNoMulti) {
    tx_.dirty = true;
    return replyNow(resp::err::kNotInMulti);
  }
  // What slotgate refuses outside a transaction it refuses inside one; what runs on every node
  // (FLUSHALL, DBSIZE, KEYS, SCAN, SCRIPT LOAD, ...) would run on the transaction's node only and
  // answer for a part of the data. Either is a queue-time error: EXEC then answers EXECABORT.
  using command::Policy;
  if (spec.policy == Policy::kUnsupported) {
    tx_.dirty = true;
    return replyNow(resp::errorReply(fmt::runtime(resp::err::kUnsupported), route::displayName(spec)));
  }
  if (spec.policy == Policy::kAllPrimaries || spec.policy == Policy::kAllNodes || spec.policy == Policy::kCursor) {
    tx_.dirty = true;
    return replyNow(resp::errorReply(fmt::runtime(resp::err::kEveryNodeInMulti), route::displayName(spec)));
  }
  bool cross = false;
  int slot = keysSlot(&cross);
  if (cross || !tx_.acceptSlot(slot)) {
    tx_.dirty = true;
    return replyNow(resp::err::kCrossSlot);
  }
  tx_.commands.push_back(encodedCommand(raw));
  info_->multi.store(static_cast<int>(tx_.commands.size()), std::memory_order_relaxed);
  replyNow("+QUEUED\r\n");
}

void Session::discard() {
  if (!tx_.active) return replyNow(resp::err::kDiscardWithoutMulti);
  if (tx_.watching && pinned_ && !pinned_lost_) pinned_->send(nullptr, "*1\r\n$7\r\nUNWATCH\r\n");
  tx_.resetWatch();
  tx_.reset();
  info_->multi.store(-1, std::memory_order_relaxed);
  replyNow("+OK\r\n");
}

void Session::exec() {
  if (!tx_.active) return replyNow(resp::err::kExecWithoutMulti);
  auto batch = std::make_shared<std::vector<std::string>>(std::move(tx_.commands));
  bool dirty = tx_.dirty;
  bool watching = tx_.watching;
  int slot = tx_.slot;
  // The node forgets WATCH at EXEC, whatever the outcome.
  bool watch_intact = watching && pinned_ && !pinned_lost_ && static_cast<const void*>(pinned_.get()) == watch_conn_;
  tx_.resetWatch();
  tx_.reset();
  info_->multi.store(-1, std::memory_order_relaxed);
  if (dirty) {
    if (watch_intact) pinned_->send(nullptr, "*1\r\n$7\r\nUNWATCH\r\n");
    return replyNow(resp::err::kExecAbort);
  }
  uint64_t seq = queue_.push();
  exclusive_busy_ = true;
  if (watching && !watch_intact) {
    // The connection that held the WATCH is gone: a watched key may have changed unseen.
    std::string null;
    resp::appendNullArray(null, proto_);
    return finishExclusive(seq, null);
  }
  std::string host;
  uint16_t port = 0;
  if (watching) {
    host = pinned_->host();
    port = pinned_->port();
  } else if (backend::BackendConnection* node = slot >= 0 ? dispatcher().ownerOf(static_cast<uint16_t>(slot))
                                                          : (pinned_ && !pinned_lost_ ? pinned_.get()
                                                                                      : dispatcher().anyPrimary())) {
    host = node->host();
    port = node->port();
  } else {
    return finishExclusive(seq, dispatcher().hasTopology() ? resp::err::kSlotNotServed : resp::err::kNoTopology);
  }
  pending_exec_ = {batch, slot, watching, ctx_.loop->nowMs()};
  sendExec(seq, host, port, 0);
}

void Session::watch(int slot, std::string_view raw) {
  if (tx_.active) return replyNow(resp::err::kWatchInMulti);
  if (tx_.watching && slot != tx_.watch_slot) return replyNow(resp::err::kCrossSlot);
  uint64_t seq = queue_.push();
  exclusive_busy_ = true;
  backend::BackendConnection* owner = dispatcher().ownerOf(static_cast<uint16_t>(std::max(slot, 0)));
  if (tx_.watching && pinned_ && !pinned_lost_) owner = pinned_.get();  // the WATCH already in force lives there
  if (!owner) return finishExclusive(seq, dispatcher().hasTopology() ? resp::err::kSlotNotServed : resp::err::kNoTopology);
  std::shared_ptr<request::ReplyLink> guard = link_;
  bool keep = tx_.watching;
  auto command = std::make_shared<PinnedCommand>();
  command->bytes = encodedCommand(raw);
  command->readonly = true;
  command->slot = keep ? -1 : slot;  // a WATCH already in force stays on its connection
  command->started_ms = ctx_.loop->nowMs();
  command->on_success = [guard, seq, slot, keep](std::string_view reply) {
    auto* self = static_cast<Session*>(guard->target);
    if (!self) return;
    if (reply.starts_with("+OK")) {
      if (!keep || self->watch_conn_ != self->pinned_.get()) self->watch_conn_ = self->pinned_.get();
      self->tx_.watching = true;
      self->tx_.watch_slot = slot;
      self->tx_.slot = slot;
    }
    self->finishExclusive(seq, reply);
  };
  sendPinned(seq, std::move(command), owner->host(), owner->port(), false, 0);
}

void Session::unwatch() {
  if (tx_.watching && pinned_ && !pinned_lost_) pinned_->send(nullptr, "*1\r\n$7\r\nUNWATCH\r\n");
  tx_.resetWatch();
  replyNow("+OK\r\n");
}

// ---- WAIT -----------------------------------------------------------------------------------

// WAIT goes behind this client's writes on every connection that carried them (shared node
// connections by slot owner, and the dedicated one), in slices of at most kWaitChunkMs so a
// shared connection is never held long; the answer is the smallest count.
void Session::wait() {
  int64_t numreplicas = 0, timeout = 0;
  if (argv_.size() != 3 || !resp::parseInt(argv_[1], &numreplicas) || !resp::parseInt(argv_[2], &timeout) ||
      timeout < 0) {
    // Redis's own error texts: let a node say it.
    route::Plan plan;
    plan.kind = route::Plan::Kind::kAnyPrimary;
    executor().execute(plan, *classification_.spec, argv_, {}, link_, queue_.push());
    return;
  }
  std::vector<backend::BackendConnection*> nodes;
  auto add = [&nodes](backend::BackendConnection* node) {
    if (node && std::find(nodes.begin(), nodes.end(), node) == nodes.end()) nodes.push_back(node);
  };
  if (wrote_everywhere_) {
    for (auto* node : dispatcher().primaries()) add(node);
  } else {
    for (uint16_t slot : written_slots_) add(dispatcher().ownerOf(slot));
  }
  if (pinned_wrote_ && pinned_ && !pinned_lost_) add(pinned_.get());
  if (nodes.empty()) add(dispatcher().anyPrimary());
  written_slots_.clear();
  wrote_everywhere_ = false;
  pinned_wrote_ = false;
  uint64_t seq = queue_.push();
  exclusive_busy_ = true;
  info_->blocked.store(true, std::memory_order_relaxed);
  if (nodes.empty()) return finishExclusive(seq, resp::err::kNoTopology);
  struct WaitState {
    std::vector<backend::BackendConnection*> nodes;
    std::vector<int64_t> counts;
    std::vector<bool> done;
    int64_t numreplicas;
    uint64_t deadline;  // 0: none
    size_t outstanding = 0;
  };
  auto state = std::make_shared<WaitState>();
  state->nodes = nodes;
  state->counts.assign(nodes.size(), 0);
  state->done.assign(nodes.size(), false);
  state->numreplicas = numreplicas;
  state->deadline = timeout > 0 ? ctx_.loop->nowMs() + static_cast<uint64_t>(timeout) : 0;
  std::shared_ptr<request::ReplyLink> guard = link_;
  auto round = std::make_shared<std::function<void()>>();
  // The waiters in flight keep the round alive; it holds itself only weakly (no cycle).
  std::weak_ptr<std::function<void()>> weak_round = round;
  *round = [guard, seq, state, weak_round] {
    auto* self = static_cast<Session*>(guard->target);
    auto round = weak_round.lock();
    if (!self || !round) return;
    uint64_t now = self->ctx_.loop->nowMs();
    bool expired = state->deadline != 0 && now >= state->deadline;
    bool all = true;
    for (size_t i = 0; i < state->nodes.size(); ++i) all = all && (state->done[i] || state->counts[i] >= state->numreplicas);
    if (all || expired) {
      int64_t least = *std::min_element(state->counts.begin(), state->counts.end());
      std::string reply;
      resp::appendInteger(reply, least);
      return self->finishExclusive(seq, reply);
    }
    uint64_t slice = kWaitChunkMs;
    if (state->deadline != 0) slice = std::min(slice, state->deadline - now);
    slice = std::max<uint64_t>(slice, 1);
    std::string command;
    resp::appendCommand(command, {"WAIT", std::to_string(state->numreplicas), std::to_string(slice)});
    for (size_t i = 0; i < state->nodes.size(); ++i) {
      if (state->done[i] || state->counts[i] >= state->numreplicas) continue;
      ++state->outstanding;
      auto finish_one = [state, round, i](std::optional<int64_t> count) {
        if (count) state->counts[i] = *count;
        else state->done[i] = true;  // a node that fails counts what it last said
        if (--state->outstanding == 0 && *round) (*round)();
      };
      state->nodes[i]->send(backend::CallbackWaiter::make(
                                [finish_one](std::string_view reply) {
                                  int64_t count = 0;
                                  if (reply.size() > 3 && reply[0] == ':' &&
                                      resp::parseInt(reply.substr(1, reply.size() - 3), &count)) {
                                    finish_one(count);
                                  } else {
                                    finish_one(std::nullopt);
                                  }
                                },
                                [finish_one](backend::Failure, const std::string&, const std::string&) {
                                  finish_one(std::nullopt);
                                }),
                            command);
    }
  };
  (*round)();
}

// ---- pub/sub --------------------------------------------------------------------------------

void Session::subscription(std::string_view name) {
  if (!subs_) {
    subs_ = std::make_unique<Subscriptions>(*ctx_.loop, dispatcher(), ctx_.backend_options[proto_ == 3 ? 1 : 0],
                                            proto_, *info_, link_,
                                            [this](std::string_view bytes) { deliver(queue_.push(), bytes); });
    subs_->setOnSettled([this] {
      exclusive_busy_ = false;
      maybeResume();
    });
  }
  subs_->command(name, argv_);
  if (subs_->expecting() > 0) exclusive_busy_ = true;
}

}  // namespace slotgate::session
