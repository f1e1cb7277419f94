// Where a classified command goes, decided without sending anything: answered locally, to the
// owner of one slot, to any primary, or rejected with a reply. Pure: no sockets, no topology.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/command/command_spec.h"

namespace slotgate::route {

struct Plan {
  enum class Kind : uint8_t {
    kLocal,       // the proxy answers (PING, ECHO, ...)
    kSlot,        // the primary that owns `slot`
    kAnyPrimary,  // keyless command whose answer does not depend on the node
    kReject,      // `reply` is the answer
  };
  Kind kind = Kind::kReject;
  uint16_t slot = 0;
  bool readonly = false;  // safe to resend if a node fails after receiving it
  std::string reply;
};

Plan plan(const command::CommandSpec& spec, std::span<const std::string_view> argv,
          std::span<const uint32_t> key_positions);

}  // namespace slotgate::route
