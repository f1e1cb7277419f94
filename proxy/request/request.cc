#include "proxy/request/request.h"

#include <algorithm>

#include "common/log.h"
#include "proxy/backend/backend_connection.h"
#include "proxy/cluster/redirect.h"
#include "proxy/request/dispatcher.h"
#include "proxy/resp/errors.h"
#include "proxy/resp/writer.h"

namespace slotgate::request {
namespace {

// Waits between attempts at a node that cannot be reached or said TRYAGAIN: 50, 100, 200 ... ms.
uint64_t backoffMs(unsigned attempt) { return std::min<uint64_t>(50ull << std::min(attempt, 6u), 2000); }

}  // namespace

void Request::complete(std::string_view reply) {
  if (link_->target) link_->target->deliver(seq_, reply);
}

void Request::onReply(std::string_view reply) {
  if (reply.size() > 3 && reply[0] == '-' && handleRedirect(reply.substr(1, reply.size() - 3))) return;
  complete(reply);
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

void Request::retry(const std::string& why) {
  ++attempts_;
  dispatcher_.stats().node_retries.add();
  dispatcher_.requestRefresh(why);
  dispatcher_.retryLater(shared_from_this(), backoffMs(attempts_));
}

void Request::onFailure(backend::Failure failure, const std::string& node, const std::string& detail) {
  if (abandoned()) return;
  bool may_retry = attempts_ < dispatcher_.options().max_redirects;
  switch (failure) {
    case backend::Failure::kUnreachable:
      // Never sent: safe to try again once the topology may have moved on.
      if (may_retry) return retry("node " + node + " unreachable");
      dispatcher_.stats().node_errors.add();
      complete(resp::errorReply(fmt::runtime(resp::err::kNodeUnreachable), node, slot_, detail));
      return;
    case backend::Failure::kLost:
      // A read can be repeated; a write may have been applied, and the client must be told.
      if (readonly_ && may_retry) return retry("connection to " + node + " lost");
      dispatcher_.stats().node_errors.add();
      complete(resp::errorReply(fmt::runtime(resp::err::kNodeLost), node));
      return;
    case backend::Failure::kTimeout:
      dispatcher_.stats().node_errors.add();
      complete(resp::errorReply(fmt::runtime(resp::err::kNodeTimeout), node,
                                dispatcher_.options().backend_timeout_ms));
      return;
  }
}

}  // namespace slotgate::request
