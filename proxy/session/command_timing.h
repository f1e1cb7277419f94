// How long one command took, kept in its reply's place in the queue, for the command stats and
// SLOWLOG. A few leading arguments are kept (bounded, in place) so a slow command can be shown
// without copying every command.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/command/command_spec.h"

namespace slotgate::session {

struct CommandTiming {
  static constexpr size_t kKeptBytes = 128;
  static constexpr size_t kKeptArgs = 6;
  static constexpr size_t kKeptArgBytes = 40;

  uint64_t start_us = 0;
  uint64_t backend_us = 0;
  const command::CommandSpec* spec = nullptr;  // null: not timed (or done)
  uint32_t argc = 0;
  uint8_t kept = 0;
  uint8_t lengths[kKeptArgs] = {};
  uint32_t full_lengths[kKeptArgs] = {};
  char bytes[kKeptBytes];

  void start(uint64_t now_us, const command::CommandSpec& command, std::span<const std::string_view> argv);
  // The kept arguments as SLOWLOG shows them.
  std::vector<std::string> shown() const;
};

}  // namespace slotgate::session
