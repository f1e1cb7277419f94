#include "proxy/state/exclusive_commands.h"

namespace slotgate::state {

request::RequestPtr ExclusiveCommands::leased(request::Dispatcher& dispatcher, const command::CommandSpec* spec,
                                              uint64_t seq, std::string_view bytes, int slot, bool readonly,
                                              bool stay) {
  if (!lease_) lease_ = std::make_shared<request::ExclusiveLease>(dispatcher.links(), clock_);
  auto request = request::Request::make(dispatcher, link_, seq, bytes,
                                        slot < 0 ? request::Request::kAnyPrimary : slot, readonly, spec);
  request->setLease(lease_, stay);
  return request;
}

void ExclusiveCommands::releaseLease() {
  if (!lease_) return;
  lease_->release();
  lease_.reset();
}

}  // namespace slotgate::state
