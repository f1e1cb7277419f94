// WAIT for a client of a cluster: the slots it wrote since its last WAIT tell which primaries to
// ask (too many: every primary), and the lease's link and the nodes' script lanes are asked too
// when they carried writes (Redis's WAIT counts the writes of the connection it arrives on).
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
#include "proxy/state/parked_state.h"

namespace slotgate::state {

class WaitTracker {
 public:
  WaitTracker(common::Clock& clock, ClientPort& port, ExclusiveCommands& exclusive,
              std::shared_ptr<request::ReplyLink> link)
      : clock_(clock), port_(port), exclusive_(exclusive), link_(std::move(link)) {}

  // A write is being sent where `plan` says; `on_lanes`: on the nodes' script lanes (a script, or
  // a command of a client whose script is in flight), where WAIT must follow it.
  void noteWrite(const route::Plan& plan, bool on_lanes = false);
  // WAIT numreplicas timeout: runs alone; answers the smallest count over the nodes asked.
  void wait(const Call& call, request::Dispatcher& dispatcher, request::Executor& executor);
  // Parking: the writes since the last WAIT, out and back in.
  void park(ParkedState& out) {
    out.written_slots.assign(written_slots_.begin(), written_slots_.end());
    out.wrote_everywhere = wrote_everywhere_;
    out.wrote_on_lanes = wrote_on_lanes_;
    reset();
  }
  void restore(ParkedState& in) {
    written_slots_.assign(in.written_slots.begin(), in.written_slots.end());
    wrote_everywhere_ = in.wrote_everywhere;
    wrote_on_lanes_ = in.wrote_on_lanes;
  }
  // RESET.
  void reset() {
    written_slots_.clear();
    wrote_everywhere_ = false;
    wrote_on_lanes_ = false;
  }

 private:
  common::Clock& clock_;
  ClientPort& port_;
  ExclusiveCommands& exclusive_;
  std::shared_ptr<request::ReplyLink> link_;
  std::vector<uint16_t> written_slots_;
  bool wrote_everywhere_ = false;
  bool wrote_on_lanes_ = false;
};

}  // namespace slotgate::state
