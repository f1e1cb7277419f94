#include "proxy/session/command_timing.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace slotgate::session {

void CommandTiming::start(uint64_t now_us, const command::CommandSpec& command,
                          std::span<const std::string_view> argv) {
  start_us = now_us;
  backend_us = 0;
  spec = &command;
  argc = static_cast<uint32_t>(argv.size());
  kept = 0;
  size_t used = 0;
  for (std::string_view arg : argv) {
    if (kept == kKeptArgs || used == kKeptBytes) break;
    size_t n = std::min({arg.size(), kKeptArgBytes, kKeptBytes - used});
    std::memcpy(bytes + used, arg.data(), n);
    lengths[kept] = static_cast<uint8_t>(n);
    full_lengths[kept] = static_cast<uint32_t>(arg.size());
    ++kept;
    used += n;
  }
}

std::vector<std::string> CommandTiming::shown() const {
  std::vector<std::string> out;
  size_t offset = 0;
  for (uint8_t i = 0; i < kept; ++i) {
    std::string arg(bytes + offset, lengths[i]);
    offset += lengths[i];
    if (full_lengths[i] > lengths[i]) arg += fmt::format("... ({} more bytes)", full_lengths[i] - lengths[i]);
    out.push_back(std::move(arg));
  }
  if (argc > kept) out.push_back(fmt::format("... ({} more arguments)", argc - kept));
  return out;
}

}  // namespace slotgate::session
