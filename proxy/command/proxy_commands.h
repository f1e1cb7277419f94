// slotgate's own commands, answered by the proxy and never sent to a node:
//   SLOTGATE CONFIG GET pattern | SLOTGATE CONFIG SET name value   slotgate's settings
//   SLOTGATE RELOAD                                                read the config file again
//   SLOTGATE TOPOLOGY                                              the cluster as slotgate sees it
//   SLOTGATE HELP
// and the subcommands newer than the generated table that slotgate answers itself (CLIENT SETINFO,
// CLIENT NO-TOUCH, from Redis 7.2). Rows in the same shape as the generated Redis table, with
// their Handler, so the classifier and the dispatch treat them alike.
#pragma once

#include <string_view>

#include "proxy/command/command_spec.h"

namespace slotgate::command {

// Case-insensitive; nullptr for anything but slotgate's own commands.
const CommandSpec* findProxyCommand(std::string_view name);

// A subcommand of `container` that the generated table lacks but slotgate answers itself (e.g.
// "setinfo" of CLIENT); case-insensitive; nullptr if none.
const CommandSpec* findProxySubcommand(const CommandSpec& container, std::string_view sub);

}  // namespace slotgate::command
