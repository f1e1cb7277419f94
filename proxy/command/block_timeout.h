// How long a blocking command may legitimately wait at the node: its own timeout argument. A
// dedicated connection's deadline is this plus the backend op timeout, so a hung node fails a
// blocked client instead of holding it forever, and a long BLPOP is never cut short.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace slotgate::command {

// The command blocks without end (timeout 0, or a blocking command whose timeout we cannot find).
inline constexpr uint64_t kBlocksForever = UINT64_MAX;

// argv[0] is the command name (any case). Returns the block time in ms (fractions of a ms round
// up), kBlocksForever, or 0 when the argument is malformed (the node answers an error at once).
uint64_t blockTimeoutMs(std::span<const std::string_view> argv);

}  // namespace slotgate::command
