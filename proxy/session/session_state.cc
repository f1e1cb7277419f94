// The Session's commands that hold node-side state: MULTI/EXEC/DISCARD, WATCH/UNWATCH,
// blocking commands, WAIT and pub/sub. See session.h for the ordering rule they follow.
#include <algorithm>

#include "common/ascii.h"
#include "common/digest.h"
#include "common/log.h"
#include "common/uv/event_loop.h"
#include "proxy/backend/callback_waiter.h"
#include "proxy/cluster/redirect.h"
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

bool isRedirectReply(std::string_view reply) {
  return reply.starts_with("-MOVED ") || reply.starts_with("-ASK ") || reply.starts_with("-TRYAGAIN");
}

uint64_t backoffMs(unsigned attempt) { return std::min<uint64_t>(50ull << std::min(attempt, 5u), 1000); }
// How often a command whose node is unreachable looks again for the slot's owner.
constexpr uint64_t kOwnerPollMs = 100;

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

// ---- the dedicated connection ----------------------------------------------------------------

backend::BackendConnection& Session::pinnedTo(const std::string& host, uint16_t port) {
  if (pinned_ && !pinned_lost_ && pinned_->host() == host && pinned_->port() == port) return *pinned_;
  retire(std::move(pinned_));
  pinned_ = std::make_unique<backend::BackendConnection>(*ctx_.loop, host, port,
                                                         ctx_.backend_options[proto_ == 3 ? 1 : 0]);
  pinned_lost_ = false;
  std::shared_ptr<request::ReplyLink> guard = link_;
  backend::BackendConnection* conn = pinned_.get();
  pinned_->setCloseHandler([guard, conn](const std::string&) {
    auto* self = static_cast<Session*>(guard->target);
    if (self && self->pinned_.get() == conn) self->pinned_lost_ = true;
  });
  return *pinned_;
}

void Session::finishExclusive(uint64_t seq, std::string_view reply) {
  // It ran on a node connection of its own: the node's share is about all of it.
  if (Timing* t = timingFor(seq)) t->backend_us = request::monotonicMicros() - t->start_us;
  exclusive_busy_ = false;
  info_->blocked.store(false, std::memory_order_relaxed);
  deliver(seq, reply);
}

// Sends one command on the dedicated connection to host:port and follows MOVED/ASK/TRYAGAIN
// there; `on_success` gets any other reply. A lost connection fails a write (its outcome is
// unknown) and retries a read; a node silent past the deadline fails the command either way.
void Session::sendPinned(uint64_t seq, std::shared_ptr<const PinnedCommand> command, std::string host,
                         uint16_t port, bool asking, unsigned attempt) {
  backend::BackendConnection& conn = pinnedTo(host, port);
  std::shared_ptr<request::ReplyLink> guard = link_;
  // `follow_owner`: resend to whoever owns the slot by then (the map may have moved on).
  auto retry = [guard, seq, command](std::string to_host, uint16_t to_port, bool ask, uint64_t delay,
                                     unsigned next_attempt, bool follow_owner) {
    auto* self = static_cast<Session*>(guard->target);
    if (!self) return;
    auto resend = [guard, seq, command, to_host, to_port, ask, next_attempt, follow_owner] {
      auto* s = static_cast<Session*>(guard->target);
      if (!s) return;
      backend::BackendConnection* owner =
          follow_owner && command->slot >= 0 ? s->dispatcher().ownerOf(static_cast<uint16_t>(command->slot)) : nullptr;
      if (owner) s->sendPinned(seq, command, owner->host(), owner->port(), false, next_attempt);
      else s->sendPinned(seq, command, to_host, to_port, ask, next_attempt);
    };
    if (delay == 0) resend();
    else self->ctx_.loop->after(delay, resend);
  };
  unsigned max_attempts = dispatcher().options().max_redirects;
  auto waiter = backend::CallbackWaiter::make(
      [guard, seq, host, port, attempt, max_attempts, retry, command](std::string_view reply) {
        auto* self = static_cast<Session*>(guard->target);
        if (!self) return;
        if (reply.size() > 3 && reply[0] == '-' && attempt < max_attempts) {
          if (auto r = cluster::parseRedirect(reply.substr(1, reply.size() - 3))) {
            if (r->kind == cluster::Redirect::Kind::kTryAgain) {
              return retry(host, port, false, backoffMs(attempt), attempt + 1, false);
            }
            if (r->kind == cluster::Redirect::Kind::kMoved) self->dispatcher().requestRefresh("MOVED on a dedicated connection");
            return retry(r->host.empty() ? host : r->host, r->port, r->kind == cluster::Redirect::Kind::kAsk, 0,
                         attempt + 1, false);
          }
        }
        command->on_success(reply);
      },
      [guard, seq, command, attempt, max_attempts, retry, host, port](backend::Failure failure, const std::string& node,
                                                                      const std::string& detail) {
        auto* self = static_cast<Session*>(guard->target);
        if (!self) return;
        if (failure == backend::Failure::kTimeout) {
          // The connection was reset: whatever lived on it (a WATCH) is gone too.
          self->pinned_lost_ = true;
          uint64_t op_ms = self->dispatcher().options().backend_timeout_ms;
          uint64_t allowed = command->extra_ms >= UINT64_MAX - op_ms ? UINT64_MAX : op_ms + command->extra_ms;
          return self->finishExclusive(seq, resp::errorReply(fmt::runtime(resp::err::kNodeTimeout), node, allowed));
        }
        // Nothing reached the node: like an ordinary request, wait (failover_wait) for the slot
        // to have a reachable owner, going wherever the map says it lives now.
        uint64_t waited = self->ctx_.loop->nowMs() - command->started_ms;
        if (failure == backend::Failure::kUnreachable && waited < self->dispatcher().options().failover_wait_ms) {
          self->dispatcher().requestRefresh("dedicated connection to " + node + " failed");
          return retry(host, port, false, kOwnerPollMs, attempt, true);
        }
        if (command->readonly && attempt < max_attempts) {  // a read whose connection broke: once more
          self->dispatcher().requestRefresh("dedicated connection to " + node + " failed");
          return retry(host, port, false, backoffMs(attempt), attempt + 1, true);
        }
        self->finishExclusive(seq, failure == backend::Failure::kUnreachable
                                       ? resp::errorReply(fmt::runtime(resp::err::kNodeUnreachable), node, "-", detail)
                                       : resp::errorReply(fmt::runtime(resp::err::kPinnedLost), node));
      });
  uint64_t extra = command->extra_ms == command::kBlocksForever ? backend::BackendConnection::kNoDeadline
                                                                : command->extra_ms;
  conn.send(waiter, command->bytes, asking, extra);
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

// MULTI, the queued commands and EXEC leave in one write on the dedicated connection. If the
// node refused a queued command because the slot moved (so nothing ran), the batch goes to the
// new owner, unless a WATCH was in force: then the client gets the aborted-by-WATCH nil.
void Session::sendExec(uint64_t seq, std::string host, uint16_t port, unsigned attempt) {
  PendingExec pending = pending_exec_;
  const auto& commands = *pending.commands;
  backend::BackendConnection& conn = pinnedTo(host, port);
  if (pending.watching) watch_conn_ = &conn;
  auto replies = std::make_shared<std::vector<std::string>>();
  auto failed = std::make_shared<bool>(false);
  size_t expected = commands.size() + 2;
  std::shared_ptr<request::ReplyLink> guard = link_;
  int proto = proto_;
  unsigned max_attempts = dispatcher().options().max_redirects;
  auto on_reply = [guard, seq, replies, expected, pending, host, port, attempt, max_attempts, proto,
                   failed](std::string_view reply) {
    if (*failed) return;
    replies->emplace_back(reply);
    if (replies->size() < expected) return;
    auto* self = static_cast<Session*>(guard->target);
    if (!self) return;
    const std::string& result = replies->back();
    if (result.starts_with("-EXECABORT")) {
      for (size_t i = 1; i + 1 < replies->size(); ++i) {
        const std::string& queued = (*replies)[i];
        if (!isRedirectReply(queued)) continue;
        if (pending.watching) {
          std::string null;
          resp::appendNullArray(null, proto);
          return self->finishExclusive(seq, null);
        }
        if (attempt >= max_attempts) break;
        auto r = cluster::parseRedirect(std::string_view(queued).substr(1, queued.size() - 3));
        std::string to_host = host;
        uint16_t to_port = port;
        uint64_t delay = backoffMs(attempt);
        if (r && r->kind == cluster::Redirect::Kind::kMoved) {
          to_host = r->host.empty() ? host : r->host;
          to_port = r->port;
          delay = 0;
          self->dispatcher().requestRefresh("MOVED inside a transaction");
        }
        self->pending_exec_ = pending;
        auto resend = [guard, seq, to_host, to_port, attempt] {
          if (auto* s = static_cast<Session*>(guard->target)) s->sendExec(seq, to_host, to_port, attempt + 1);
        };
        if (delay == 0) resend();
        else self->ctx_.loop->after(delay, resend);
        return;
      }
    }
    self->finishExclusive(seq, result);
  };
  auto on_failure = [guard, seq, failed, pending, attempt, host, port](
                        backend::Failure failure, const std::string& node, const std::string& detail) {
    if (*failed) return;
    *failed = true;
    auto* self = static_cast<Session*>(guard->target);
    if (!self) return;
    if (failure == backend::Failure::kTimeout) {
      self->pinned_lost_ = true;  // reset with the connection, WATCH included
      return self->finishExclusive(seq, resp::errorReply(fmt::runtime(resp::err::kNodeTimeout), node,
                                                         self->dispatcher().options().backend_timeout_ms));
    }
    uint64_t waited = self->ctx_.loop->nowMs() - pending.started_ms;
    if (failure == backend::Failure::kUnreachable && !pending.watching &&
        waited < self->dispatcher().options().failover_wait_ms) {
      // Nothing reached the node: send the whole batch again, to the slot's owner by then (a
      // failover), within failover_wait like an ordinary request.
      self->dispatcher().requestRefresh("transaction's node " + node + " unreachable");
      self->pending_exec_ = pending;
      self->ctx_.loop->after(kOwnerPollMs, [guard, seq, attempt, pending] {
        auto* s = static_cast<Session*>(guard->target);
        if (!s) return;
        backend::BackendConnection* owner =
            pending.slot >= 0 ? s->dispatcher().ownerOf(static_cast<uint16_t>(pending.slot)) : s->dispatcher().anyPrimary();
        if (!owner) return s->finishExclusive(seq, resp::err::kSlotNotServed);
        s->pending_exec_ = pending;
        s->sendExec(seq, owner->host(), owner->port(), attempt);
      });
      return;
    }
    self->finishExclusive(seq, failure == backend::Failure::kUnreachable
                                   ? resp::errorReply(fmt::runtime(resp::err::kNodeUnreachable), node, pending.slot, detail)
                                   : resp::errorReply(fmt::runtime(resp::err::kPinnedLost), node));
  };
  conn.send(backend::CallbackWaiter::make(on_reply, on_failure), "*1\r\n$5\r\nMULTI\r\n");
  for (const std::string& command : commands) conn.send(backend::CallbackWaiter::make(on_reply, on_failure), command);
  conn.send(backend::CallbackWaiter::make(on_reply, on_failure), "*1\r\n$4\r\nEXEC\r\n");
  pinned_wrote_ = true;
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
