// The Redis 7.0 command table: one CommandSpec per command and subcommand, generated from a real
// redis-server by tools/gen_command_table.py (data in command_table_data.cc), plus lookups.
//
// Promises: rows are immutable and live for the whole program (pointers to them may be kept);
// names are lower case, top-level rows and each container's subcommands are sorted by name; the
// lookups allocate nothing, take no locks and are safe from any thread.
//
// Key specs are Redis's own, with one deliberate extension: specs Redis marks "not_key" (the shard
// channel of SPUBLISH / SSUBSCRIBE / SUNSUBSCRIBE) are kept, without a flag bit, because Redis
// Cluster routes a shard channel by its slot exactly like a key.
#pragma once

#include <span>
#include <string_view>

#include "proxy/command/command_spec.h"

namespace slotgate::command {

// Every top-level command, sorted by name.
std::span<const CommandSpec> allCommands();

// Case-insensitive lookup of a top-level command; nullptr if unknown.
const CommandSpec* findCommand(std::string_view name);

// Case-insensitive lookup of a subcommand of a container command ("encoding" for OBJECT); nullptr
// if none (or if `container` has no subcommands).
const CommandSpec* findSubcommand(const CommandSpec& container, std::string_view sub);

}  // namespace slotgate::command
