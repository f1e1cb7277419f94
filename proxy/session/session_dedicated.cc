// The session's dedicated node connection (WATCH, EXEC, blocking commands): opening it, sending
// one command or a MULTI ... EXEC batch on it, and following redirects, failovers and deadlines
// there. The commands that use it are in session_state.cc.
#include <algorithm>

#include "common/uv/event_loop.h"
#include "proxy/backend/callback_waiter.h"
#include "proxy/cluster/redirect.h"
#include "proxy/command/block_timeout.h"
#include "proxy/resp/errors.h"
#include "proxy/resp/writer.h"
#include "proxy/session/session.h"

namespace slotgate::session {
namespace {

bool isRedirectReply(std::string_view reply) {
  return reply.starts_with("-MOVED ") || reply.starts_with("-ASK ") || reply.starts_with("-TRYAGAIN");
}

uint64_t backoffMs(unsigned attempt) { return std::min<uint64_t>(50ull << std::min(attempt, 5u), 1000); }
// How often a command whose node is unreachable looks again for the slot's owner.
constexpr uint64_t kOwnerPollMs = 100;

}  // namespace

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

}  // namespace slotgate::session
