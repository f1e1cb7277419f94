#include "proxy/request/exclusive_lease.h"

#include "proxy/request/id_learning_link.h"

namespace slotgate::request {

backend::NodeLink& ExclusiveLease::linkTo(const backend::NodeLink& node) {
  if (backend::NodeLink* held = intactLink(); held && held->address() == node.address()) return *front_;
  release();
  link_ = links_.openExclusive(node.host(), node.port());
  ++opened_;
  lost_ = std::make_shared<bool>(false);
  node_id_ = std::make_shared<int64_t>(0);
  front_ = std::make_unique<IdLearningLink>(*link_, node_id_, learn_id_);
  link_->setCloseHandler([lost = lost_](const std::string&) { *lost = true; });
  return *front_;
}

void ExclusiveLease::release() {
  if (!link_) return;
  // The link may be calling into this lease's owner right now: free it on a later loop turn.
  std::shared_ptr<backend::NodeLink> doomed(std::move(link_));
  std::shared_ptr<backend::NodeLink> front(std::move(front_));
  *lost_ = true;
  clock_.post([doomed, front] {});
}

}  // namespace slotgate::request
