#include "proxy/request/exclusive_lease.h"

#include "proxy/backend/callback_waiter.h"
#include "proxy/resp/number.h"

namespace slotgate::request {

backend::NodeLink& ExclusiveLease::linkTo(const backend::NodeLink& node) {
  if (backend::NodeLink* held = intactLink(); held && held->address() == node.address()) {
    askNodeId();
    return *held;
  }
  release();
  link_ = links_.openExclusive(node.host(), node.port());
  ++opened_;
  lost_ = std::make_shared<bool>(false);
  node_id_ = std::make_shared<int64_t>(0);
  link_->setCloseHandler([lost = lost_](const std::string&) { *lost = true; });
  askNodeId();
  return *link_;
}

// Pipelined ahead of the command the caller sends next: no round trip of its own.
void ExclusiveLease::askNodeId() {
  if (!learn_id_ || *node_id_ != 0) return;
  *node_id_ = -1;
  auto on_reply = [id = node_id_](std::string_view reply) {
    int64_t value = 0;
    if (reply.size() > 3 && reply[0] == ':' && resp::parseInt(reply.substr(1, reply.size() - 3), &value))
      *id = value;
  };
  link_->send(
      backend::CallbackWaiter::make(on_reply, [](backend::Failure, const std::string&, const std::string&) {}),
      "*2\r\n$6\r\nCLIENT\r\n$2\r\nID\r\n");
}

void ExclusiveLease::release() {
  if (!link_) return;
  // The link may be calling into this lease's owner right now: free it on a later loop turn.
  std::shared_ptr<backend::NodeLink> doomed(std::move(link_));
  *lost_ = true;
  clock_.post([doomed] {});
}

}  // namespace slotgate::request
