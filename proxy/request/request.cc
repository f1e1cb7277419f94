#include "proxy/request/request.h"

#include <chrono>
#include <optional>

#include "common/log.h"
#include "proxy/cluster/redirect.h"
#include "proxy/request/dispatcher.h"
#include "proxy/request/exclusive_lease.h"
#include "proxy/resp/array_reader.h"
#include "proxy/resp/errors.h"
#include "proxy/resp/writer.h"

namespace slotgate::request {

// EXEC's batch: what the replies before EXEC's said.
struct Request::Batch {
  unsigned commands = 0;
  bool watching = false;
  int proto = 2;
  unsigned replies_left = 0;
  bool refused_for_slot = false;           // a queued command got MOVED, ASK or TRYAGAIN
  std::optional<cluster::Redirect> moved;  // the first MOVED among them
};

uint64_t monotonicMicros() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

Request::Request(Dispatcher& dispatcher, std::shared_ptr<ReplyLink> link, uint64_t seq, std::string_view command,
                 int slot, bool readonly, const command::CommandSpec* spec)
    : dispatcher_(dispatcher), link_(std::move(link)), seq_(seq), slot_(slot), readonly_(readonly),
      script_lane_(link_->script_lane), spec_(spec) {
  if (command.size() >= common::kSliceMinBytes) kept_ = common::ReceivedBytes::pin(command);
  if (!kept_) command_.assign(command);
}

common::Slice Request::sentBytes(std::string_view bytes) const {
  std::string_view mine = kept_.view();
  return kept_ && mine.data() == bytes.data() && mine.size() == bytes.size() ? kept_ : common::Slice();
}

Request::~Request() = default;

void Request::setLease(std::shared_ptr<ExclusiveLease> lease, bool stay) {
  lease_ = std::move(lease);
  stay_ = stay;
}

void Request::expectBatch(unsigned commands, bool watching, int proto) {
  batch_ = std::make_unique<Batch>();
  batch_->commands = commands;
  batch_->watching = watching;
  batch_->proto = proto;
}

unsigned Request::repliesPerSend() const { return batch_ ? batch_->commands + 2 : 1; }

void Request::setNode(backend::NodeLink* node) {
  node_ = node;
  sent_us_ = monotonicMicros();
  if (batch_) {
    batch_->replies_left = repliesPerSend();
    batch_->refused_for_slot = false;
    batch_->moved.reset();
  }
}

backend::NodeLink& Request::linkAt(backend::NodeLink& node) {
  if (!lease_) return script_lane_ ? dispatcher_.links().scriptLane(node.host(), node.port()) : node;
  if (stay_) {
    if (backend::NodeLink* held = lease_->intactLink()) return *held;
  }
  return lease_->linkTo(node);
}

void Request::complete(std::string_view reply) {
  if (!link_->target) return;
  link_->target->addBackendTime(seq_, backend_us_);
  link_->target->deliver(seq_, reply);
}

void Request::onReply(std::string_view reply) {
  if (batch_ && handleBatchReply(reply)) return;
  if (sent_us_ != 0) {
    uint64_t round_trip = monotonicMicros() - sent_us_;
    backend_us_ += round_trip;
    dispatcher_.recordBackendLatency(round_trip);
  }
  if (!batch_ && reply.size() > 3 && reply[0] == '-') {
    std::string_view error = reply.substr(1, reply.size() - 3);
    if (handleRedirect(error)) return;
    if (error.starts_with("NOSCRIPT") && reloadScript()) return;
    if (error.starts_with("CLUSTERDOWN ") && waitForCluster(error)) return;
  }
  complete(reply);
}

bool Request::handleBatchReply(std::string_view reply) {
  Batch& batch = *batch_;
  if (--batch.replies_left > 0) {
    // MULTI's +OK, then +QUEUED or a refusal per command.
    if (reply.size() > 3 && reply[0] == '-') {
      if (auto r = cluster::parseRedirect(reply.substr(1, reply.size() - 3))) {
        if (!batch.refused_for_slot && r->kind == cluster::Redirect::Kind::kMoved) batch.moved = *r;
        batch.refused_for_slot = true;
      }
    }
    return true;
  }
  if (!reply.starts_with("-EXECABORT") || !batch.refused_for_slot || abandoned()) return false;
  if (batch.watching) {
    // The watched slot moved: the WATCH cannot have been kept.
    std::string null;
    resp::appendNullArray(null, batch.proto);
    complete(null);
    return true;
  }
  if (attempts_ >= dispatcher_.options().max_redirects) return false;
  ++attempts_;
  if (batch.moved) {
    cluster::Redirect moved = *batch.moved;
    dispatcher_.redirect(shared_from_this(), moved, node_);
  } else {
    dispatcher_.retryLater(shared_from_this(), common::RetryPolicy::backoffMs(attempts_));
  }
  return true;
}

// The node lacks a script the proxy has seen: load it there and send the EVALSHA again, both on
// the same connection, so the load is in place when the retry runs. Once per request.
bool Request::reloadScript() {
  ScriptCache* scripts = dispatcher_.scripts();
  if (!scripts || script_reloaded_ || !node_ || abandoned() || !dispatcher_.isEvalsha(spec_)) return false;
  std::vector<std::string_view> args;
  if (!resp::arrayElements(command(), &args) || args.size() < 2) return false;
  std::string_view sha = args[1].substr(args[1].find("\r\n") + 2);  // "$len\r\nsha\r\n" -> sha
  std::optional<std::string> body = scripts->find(sha.substr(0, sha.size() - 2));
  if (!body) return false;
  script_reloaded_ = true;
  dispatcher_.stats().script_reloads.add();
  std::string load;
  resp::appendCommand(load, {"SCRIPT", "LOAD", *body});
  backend::NodeLink& link = linkAt(*node_);
  link.send(nullptr, load);
  link.send(shared_from_this(), command(), false, extra_ms_);
  return true;
}

bool Request::mayWaitForOwner() {
  uint64_t now = dispatcher_.clock().nowMs();
  if (!waitStarted()) startWait(now);
  if (batch_ && batch_->watching) return false;  // a new connection would not hold the WATCH
  if (pinned_ || stay_) return attempts_ < dispatcher_.options().max_redirects;
  return dispatcher_.retryPolicy().mayWait(wait_start_ms_, now);
}

bool Request::waitForCluster(std::string_view error) {
  if (abandoned()) return true;
  if (!mayWaitForOwner()) return false;
  retry(std::string(error.substr(0, 60)), pinned_ != nullptr || stay_);
  return true;
}

bool Request::handleRedirect(std::string_view error) {
  auto redirect = cluster::parseRedirect(error);
  if (!redirect) return false;
  if (abandoned()) return true;
  if (attempts_ >= dispatcher_.options().max_redirects) {
    complete(resp::errorReply(fmt::runtime(resp::err::kTooManyRedirects), attempts_, error));
    return true;
  }
  ++attempts_;
  if (redirect->kind == cluster::Redirect::Kind::kTryAgain) {
    dispatcher_.stats().tryagain_retries.add();
    dispatcher_.retryLater(shared_from_this(), common::RetryPolicy::backoffMs(attempts_));
  } else {
    dispatcher_.redirect(shared_from_this(), *redirect, node_);
  }
  return true;
}

void Request::retry(const std::string& why, bool counted) {
  dispatcher_.stats().node_retries.add();
  dispatcher_.requestRefresh(cluster::RefreshCause::kNodeError, why);
  if (counted) {
    ++attempts_;
    dispatcher_.retryLater(shared_from_this(), common::RetryPolicy::backoffMs(attempts_));
  } else {
    // Waiting out a failover: look again often, the node's connection refuses cheaply meanwhile.
    dispatcher_.retryLater(shared_from_this(), dispatcher_.retryPolicy().ownerPollMs(++waits_));
  }
}

void Request::onFailure(backend::Failure failure, const std::string& node, const std::string& detail) {
  if (abandoned()) return;
  switch (failure) {
    case backend::Failure::kUnreachable:
      // Never sent: safe to try again once the topology may have moved on, for as long as a
      // failover may take. Pinned parts (fan-out) have nowhere else to go and give up sooner.
      if (mayWaitForOwner()) return retry("node " + node + " unreachable", pinned_ != nullptr || stay_);
      dispatcher_.stats().node_errors.add();
      complete(resp::errorReply(fmt::runtime(resp::err::kNodeUnreachable), node, slot_, detail));
      return;
    case backend::Failure::kLost:
      // A read can be repeated, once; a write may have been applied, and the client must be told.
      if (readonly_ && !resent_after_loss_) {
        resent_after_loss_ = true;
        dispatcher_.stats().inflight_reads_retried.add();
        return retry("connection to " + node + " lost");
      }
      dispatcher_.stats().node_errors.add();
      if (!readonly_) dispatcher_.stats().inflight_writes_lost.add();
      complete(resp::errorReply(fmt::runtime(readonly_ ? resp::err::kNodeLostRead : resp::err::kNodeLost), node));
      return;
    case backend::Failure::kTimeout: {
      dispatcher_.stats().node_errors.add();
      uint64_t op_ms = dispatcher_.options().backend_timeout_ms;
      uint64_t allowed = extra_ms_ >= backend::NodeLink::kNoDeadline - op_ms ? backend::NodeLink::kNoDeadline
                                                                             : op_ms + extra_ms_;
      complete(resp::errorReply(fmt::runtime(resp::err::kNodeTimeout), node, allowed));
      return;
    }
  }
}

}  // namespace slotgate::request
