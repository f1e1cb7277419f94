// Turns a request's arguments into what routing needs: the command's table row (the subcommand's
// for container commands), and the positions of its keys. Rejects what Redis itself would reject
// before running the command: unknown command or subcommand, wrong arity. (A bad key count is
// left to a node, whose error text differs by command: such a command gets no keys.) The
// rejection is a complete RESP error reply with Redis's text.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/command/command_spec.h"
#include "proxy/command/learned_commands.h"

namespace slotgate::command {

struct Classification {
  const CommandSpec* spec = nullptr;  // the subcommand's row for container commands
  std::vector<uint32_t> key_positions;
  std::string error;  // non-empty: the reply, and nothing else happens
  // With `error` (unknown subcommand): the row of a subcommand newer than the table that slotgate
  // answers itself for an authenticated client instead of the error (CLIENT SETINFO, NO-TOUCH;
  // see findProxySubcommand). Its arity is not checked here.
  const CommandSpec* fallback = nullptr;
};

// `classification` is reused across calls to keep its buffers. Commands are looked up in the
// generated Redis table, then slotgate's own (SLOTGATE ...), then `learned` (may be null).
void classify(std::span<const std::string_view> argv, Classification* classification,
              const LearnedCommands* learned = nullptr);

}  // namespace slotgate::command
