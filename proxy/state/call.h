// One classified client command as the state collaborators see it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "proxy/command/command_spec.h"

namespace slotgate::state {

struct Call {
  const command::CommandSpec* spec;  // null only for a command the table does not know
  std::span<const std::string_view> argv;
  std::string_view raw;  // the RESP bytes as received; empty for an inline request
  std::span<const uint32_t> key_positions;

  // The RESP bytes to send a node: as received, or encoded from argv.
  std::string encoded() const;
  // The slot of the keys (-1: none); `cross_slot` tells whether they hash to two slots.
  int keysSlot(bool* cross_slot) const;
};

}  // namespace slotgate::state
