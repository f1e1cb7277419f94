// WAIT for a client of a cluster: the slots it wrote since its last WAIT tell which primaries to
// ask (too many: every primary), and the lease's link is asked too when it carried writes.
#pragma once

#include <cstdint>
#include <vector>

#include "common/clock.h"
#include "proxy/request/dispatcher.h"
#include "proxy/request/executor.h"
#include "proxy/route/plan.h"
#include "proxy/state/call.h"
#include "proxy/state/client_port.h"
#include "proxy/state/exclusive_commands.h"

namespace slotgate::state {

class WaitTracker {
 public:
  WaitTracker(common::Clock& clock, ClientPort& port, ExclusiveCommands& exclusive,
              std::shared_ptr<request::ReplyLink> link)
      : clock_(clock), port_(port), exclusive_(exclusive), link_(std::move(link)) {}

  // A write is being sent where `plan` says.
  void noteWrite(const route::Plan& plan);
  // WAIT numreplicas timeout: runs alone; answers the smallest count over the nodes asked.
  void wait(const Call& call, request::Dispatcher& dispatcher, request::Executor& executor);
  // RESET.
  void reset() {
    written_slots_.clear();
    wrote_everywhere_ = false;
  }

 private:
  common::Clock& clock_;
  ClientPort& port_;
  ExclusiveCommands& exclusive_;
  std::shared_ptr<request::ReplyLink> link_;
  std::vector<uint16_t> written_slots_;
  bool wrote_everywhere_ = false;
};

}  // namespace slotgate::state
