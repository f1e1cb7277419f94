// slotgate's own commands, answered by the proxy and never sent to a node:
//   SLOTGATE CONFIG GET pattern | SLOTGATE CONFIG SET name value   slotgate's settings
//   SLOTGATE TOPOLOGY                                              the cluster as slotgate sees it
//   SLOTGATE HELP
// Rows in the same shape as the generated Redis table, so the classifier treats them alike.
#pragma once

#include <string_view>

#include "proxy/command/command_spec.h"

namespace slotgate::command {

// Case-insensitive; nullptr for anything but slotgate's own commands.
const CommandSpec* findProxyCommand(std::string_view name);

}  // namespace slotgate::command
