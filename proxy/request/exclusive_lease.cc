#include "proxy/request/exclusive_lease.h"

namespace slotgate::request {

backend::NodeLink& ExclusiveLease::linkTo(const backend::NodeLink& node) {
  if (backend::NodeLink* held = intactLink(); held && held->address() == node.address()) return *held;
  release();
  link_ = links_.openExclusive(node.host(), node.port());
  ++opened_;
  lost_ = std::make_shared<bool>(false);
  link_->setCloseHandler([lost = lost_](const std::string&) { *lost = true; });
  return *link_;
}

void ExclusiveLease::release() {
  if (!link_) return;
  // The link may be calling into this lease's owner right now: free it on a later loop turn.
  std::shared_ptr<backend::NodeLink> doomed(std::move(link_));
  *lost_ = true;
  clock_.post([doomed] {});
}

}  // namespace slotgate::request
