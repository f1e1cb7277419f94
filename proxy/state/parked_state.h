// What a client's connection remembers that a new connection would not, once nothing of it is in
// flight: all a parked client (idle, its socket watched without a session) keeps of its state.
// Not parked: a client in a transaction or WATCH, subscribed, blocked or on a script lane.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/slab_pool.h"
#include "config/config.h"
#include "proxy/request/exclusive_lease.h"
#include "proxy/state/client_registry.h"

namespace slotgate::state {

struct ParkedState {
  std::shared_ptr<ClientInfo> info;          // its entry in the registry, kept as it was
  std::shared_ptr<const config::User> user;  // AUTH'd user; null: the default
  // Writes a WAIT must wait for (slab blocks: kept as long as the client is parked).
  std::vector<uint16_t, common::SlabAllocator<uint16_t>> written_slots;
  // The lease's link, kept only when it carried writes since the last WAIT (WAIT asks there).
  std::shared_ptr<request::ExclusiveLease> lease;
  uint8_t proto = 2;
  bool authenticated = false;
  bool wrote_everywhere = false;
  bool wrote_on_lanes = false;
};

}  // namespace slotgate::state
