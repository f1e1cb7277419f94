// A node link owned by one client: what its transaction, WATCH and blocking commands run on, never
// shared with another client. Requests on the lease ask it for the link at a node's address; it
// keeps one link at a time and opens a new one when asked for another node, or when the link it
// holds broke (state the node kept for it, such as a WATCH, is then gone: mark() and still() tell).
#pragma once

#include <cstdint>
#include <memory>

#include "common/clock.h"
#include "proxy/backend/link_source.h"

namespace slotgate::request {

class ExclusiveLease {
 public:
  ExclusiveLease(backend::LinkSource& links, common::Clock& clock) : links_(links), clock_(clock) {}
  ~ExclusiveLease() { release(); }
  ExclusiveLease(const ExclusiveLease&) = delete;
  ExclusiveLease& operator=(const ExclusiveLease&) = delete;

  // The lease's link to `node`'s address: the one it holds if that goes there and is unbroken,
  // else a new one.
  backend::NodeLink& linkTo(const backend::NodeLink& node);
  // The link it holds if unbroken since it was opened; else null.
  backend::NodeLink* intactLink() const { return link_ && !*lost_ ? link_.get() : nullptr; }
  // Names the link held now; still(mark) is true while that same link is held and unbroken.
  uint64_t mark() const { return opened_; }
  bool still(uint64_t mark) const { return intactLink() && opened_ == mark; }
  // A command waits on the link (the worker checks its deadline).
  bool busy() const { return link_ && link_->inFlight() > 0; }
  void checkTimeout(uint64_t now_ms) {
    if (link_) link_->checkTimeout(now_ms);
  }
  // Closes the link (the client left, RESET, HELLO changed the protocol); what waits on it fails.
  void release();
  // From now on, learn the node's client id of the link (CLIENT ID, sent in front of the next
  // command on it, in the same send: IdLearningLink), so CLIENT UNBLOCK can name it to the node.
  void learnNodeId() { learn_id_ = true; }
  // The node's client id for the link held now; 0: not known.
  int64_t nodeClientId() const { return intactLink() && *node_id_ > 0 ? *node_id_ : 0; }

 private:
  backend::LinkSource& links_;
  common::Clock& clock_;
  std::unique_ptr<backend::NodeLink> link_;
  // Set by the link's close handler, which may outlive this lease; one flag per link.
  std::shared_ptr<bool> lost_ = std::make_shared<bool>(false);
  uint64_t opened_ = 0;
  bool learn_id_ = false;
  // The held link's id on its node: 0 unknown, -1 asked; shared with the asking waiter.
  std::shared_ptr<int64_t> node_id_ = std::make_shared<int64_t>(0);
  // What requests send on: link_, asking its id when learn_id_ says so.
  std::unique_ptr<backend::NodeLink> front_;
};

}  // namespace slotgate::request
