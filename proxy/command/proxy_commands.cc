#include "proxy/command/proxy_commands.h"

#include <strings.h>

namespace slotgate::command {
namespace {

constexpr CommandSpec row(const char* name, int32_t arity, uint32_t flags) {
  return CommandSpec{name, "slotgate", arity, flags, nullptr, 0, nullptr, 0, RequestTip::kDefault,
                     ResponseTip::kDefault, false, Policy::kLocal};
}

// Sorted by name, as findSubcommand expects.
constexpr CommandSpec kSlotgateSubcommands[] = {
    row("slotgate|config", -3, kFlagAdmin),
    row("slotgate|help", 2, 0),
    row("slotgate|reload", 2, kFlagAdmin),
    row("slotgate|topology", 2, 0),
};

constexpr CommandSpec kSlotgate{"slotgate", "slotgate", -2, 0, nullptr, 0, kSlotgateSubcommands,
                                sizeof(kSlotgateSubcommands) / sizeof(kSlotgateSubcommands[0]),
                                RequestTip::kDefault, ResponseTip::kDefault, false, Policy::kLocal};

}  // namespace

const CommandSpec* findProxyCommand(std::string_view name) {
  if (name.size() == 8 && strncasecmp(name.data(), "slotgate", 8) == 0) return &kSlotgate;
  return nullptr;
}

}  // namespace slotgate::command
