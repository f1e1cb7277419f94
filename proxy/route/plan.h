// Where a classified command goes, decided without sending anything: answered locally, to the
// owner of one slot, split into one sub-command per slot, fanned out to every primary (or every
// node), walked one primary at a time (SCAN), or rejected with a reply. Pure: no sockets, no
// topology.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/command/command_spec.h"

namespace slotgate::route {

// The keys of a split command that share one slot: they travel together in one sub-command.
struct SlotGroup {
  uint16_t slot = 0;
  std::vector<uint32_t> key_positions;  // argv positions of the group's keys, in request order
};

struct Plan {
  enum class Kind : uint8_t {
    kLocal,         // the proxy answers (PING, ECHO, CLUSTER INFO, ...)
    kSlot,          // the primary that owns `slot`
    kAnyPrimary,    // keyless command whose answer does not depend on the node
    kSplit,         // one sub-command per entry of `groups`, merged by the command's response tip
    kAllPrimaries,  // the command as is on every primary, merged by the response tip
    kAllNodes,      // the command as is on every node, replicas too; all must succeed
    kCursor,        // SCAN: the cursor picks the primary
    kReject,        // `reply` is the answer
  };
  Kind kind = Kind::kReject;
  uint16_t slot = 0;
  bool readonly = false;  // safe to resend if a node fails after receiving it
  uint16_t key_step = 1;  // kSplit: arguments per key (2 for MSET's key value pairs)
  std::vector<SlotGroup> groups;
  std::string reply;
};

Plan plan(const command::CommandSpec& spec, std::span<const std::string_view> argv,
          std::span<const uint32_t> key_positions);

// Display form of a command's name for messages: "config set" for "config|set".
std::string displayName(const command::CommandSpec& spec);

}  // namespace slotgate::route
