#include "proxy/request/request.h"

#include <algorithm>
#include <chrono>

#include "common/log.h"
#include "common/uv/event_loop.h"
#include "proxy/backend/backend_connection.h"
#include "proxy/cluster/redirect.h"
#include "proxy/request/dispatcher.h"
#include "proxy/resp/array_reader.h"
#include "proxy/resp/errors.h"
#include "proxy/resp/writer.h"

namespace slotgate::request {
namespace {

// Waits between attempts at a node that cannot be reached or said TRYAGAIN: 50, 100, 200 ... ms.
uint64_t backoffMs(unsigned attempt) { return std::min<uint64_t>(50ull << std::min(attempt, 6u), 2000); }
constexpr uint64_t kMaxWaitBackoffMs = 250;

}  // namespace

uint64_t monotonicMicros() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

void Request::complete(std::string_view reply) {
  if (!link_->target) return;
  link_->target->addBackendTime(seq_, backend_us_);
  link_->target->deliver(seq_, reply);
}

void Request::onReply(std::string_view reply) {
  if (sent_us_ != 0) {
    uint64_t round_trip = monotonicMicros() - sent_us_;
    backend_us_ += round_trip;
    dispatcher_.recordBackendLatency(round_trip);
  }
  if (reply.size() > 3 && reply[0] == '-') {
    std::string_view error = reply.substr(1, reply.size() - 3);
    if (handleRedirect(error)) return;
    if (error.starts_with("NOSCRIPT") && reloadScript()) return;
    if (error.starts_with("CLUSTERDOWN ") && waitForCluster(error)) return;
  }
  complete(reply);
}

// The node lacks a script the proxy has seen: load it there and send the EVALSHA again, both on
// the same connection, so the load is in place when the retry runs. Once per request.
bool Request::reloadScript() {
  ScriptCache* scripts = dispatcher_.scripts();
  if (!scripts || script_reloaded_ || !node_ || abandoned()) return false;
  std::vector<std::string_view> args;
  if (!resp::arrayElements(command(), &args) || args.size() < 2) return false;
  auto bulk = [](std::string_view element) {  // "$len\r\nbytes\r\n" -> bytes
    size_t start = element.find("\r\n") + 2;
    return element.substr(start, element.size() - start - 2);
  };
  std::string name(bulk(args[0]));
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  if (name != "evalsha" && name != "evalsha_ro") return false;
  std::optional<std::string> body = scripts->find(bulk(args[1]));
  if (!body) return false;
  script_reloaded_ = true;
  dispatcher_.stats().script_reloads.add();
  std::string load;
  resp::appendCommand(load, {"SCRIPT", "LOAD", *body});
  node_->send(nullptr, load);
  node_->send(shared_from_this(), command());
  return true;
}

bool Request::waitForCluster(std::string_view error) {
  if (abandoned()) return true;
  uint64_t now = dispatcher_.loop().nowMs();
  if (!waitStarted()) startWait(now);
  bool may_wait = pinned_ ? attempts_ < dispatcher_.options().max_redirects
                          : now - wait_start_ms_ < dispatcher_.options().failover_wait_ms;
  if (!may_wait) return false;
  retry(std::string(error.substr(0, 60)), pinned_ != nullptr);
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
    dispatcher_.retryLater(shared_from_this(), backoffMs(attempts_));
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
    dispatcher_.retryLater(shared_from_this(), backoffMs(attempts_));
  } else {
    // Waiting out a failover: look again often, the node's connection refuses cheaply meanwhile.
    ++waits_;
    dispatcher_.retryLater(shared_from_this(), std::min<uint64_t>(backoffMs(waits_), kMaxWaitBackoffMs));
  }
}

void Request::onFailure(backend::Failure failure, const std::string& node, const std::string& detail) {
  if (abandoned()) return;
  switch (failure) {
    case backend::Failure::kUnreachable: {
      // Never sent: safe to try again once the topology may have moved on, for as long as a
      // failover may take. Pinned parts (fan-out) have nowhere else to go and give up sooner.
      uint64_t now = dispatcher_.loop().nowMs();
      if (!waitStarted()) startWait(now);
      bool may_wait = pinned_ ? attempts_ < dispatcher_.options().max_redirects
                              : now - wait_start_ms_ < dispatcher_.options().failover_wait_ms;
      if (may_wait) return retry("node " + node + " unreachable", pinned_ != nullptr);
      dispatcher_.stats().node_errors.add();
      complete(resp::errorReply(fmt::runtime(resp::err::kNodeUnreachable), node, slot_, detail));
      return;
    }
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
    case backend::Failure::kTimeout:
      dispatcher_.stats().node_errors.add();
      complete(resp::errorReply(fmt::runtime(resp::err::kNodeTimeout), node,
                                dispatcher_.options().backend_timeout_ms));
      return;
  }
}

}  // namespace slotgate::request
