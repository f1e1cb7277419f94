#include "proxy/command/proxy_commands.h"

#include <strings.h>

#include <cstring>

namespace slotgate::command {
namespace {

constexpr CommandSpec row(const char* name, const char* group, int32_t arity, uint32_t flags, Policy policy,
                          Handler handler, uint16_t proxy_flags) {
  return CommandSpec{
      name,  group,  arity,   flags,        nullptr,    0, nullptr, 0, RequestTip::kDefault, ResponseTip::kDefault,
      false, policy, handler, Merge::kNone, proxy_flags};
}

constexpr CommandSpec slotgateRow(const char* name, int32_t arity, uint32_t flags, Handler handler) {
  return row(name, "slotgate", arity, flags, Policy::kLocal, handler,
             (flags & kFlagAdmin) ? uint16_t{kProxyAdminOnly} : uint16_t{0});
}

// Sorted by name, as findSubcommand expects.
constexpr CommandSpec kSlotgateSubcommands[] = {
    slotgateRow("slotgate|config", -3, kFlagAdmin, Handler::kSlotgateConfig),
    slotgateRow("slotgate|help", 2, 0, Handler::kSlotgateHelp),
    slotgateRow("slotgate|reload", 2, kFlagAdmin, Handler::kSlotgateReload),
    slotgateRow("slotgate|topology", 2, 0, Handler::kSlotgateTopology),
};

// Never the final row of a request: its arity (-2) always names a subcommand.
constexpr CommandSpec kSlotgate{"slotgate",
                                "slotgate",
                                -2,
                                0,
                                nullptr,
                                0,
                                kSlotgateSubcommands,
                                sizeof(kSlotgateSubcommands) / sizeof(kSlotgateSubcommands[0]),
                                RequestTip::kDefault,
                                ResponseTip::kDefault,
                                false,
                                Policy::kLocal,
                                Handler::kSlotgateHelp,
                                Merge::kNone,
                                0};

// Redis 7.2's CLIENT NO-TOUCH and CLIENT SETINFO (arity and flags as there). The session answers
// them itself, for an authenticated client, in place of the unknown-subcommand error.
constexpr uint32_t kClientFlags = kFlagNoscript | kFlagLoading | kFlagStale;
constexpr CommandSpec kClientNoTouch =
    row("client|no-touch", "connection", 3, kClientFlags, Policy::kStateful, Handler::kClientNoTouch, 0);
constexpr CommandSpec kClientSetinfo =
    row("client|setinfo", "connection", 4, kClientFlags, Policy::kStateful, Handler::kClientSetinfo, 0);

bool equalsIgnoreCase(std::string_view text, const char* lower) {
  return text.size() == std::strlen(lower) && strncasecmp(text.data(), lower, text.size()) == 0;
}

}  // namespace

const CommandSpec* findProxyCommand(std::string_view name) {
  if (equalsIgnoreCase(name, "slotgate")) return &kSlotgate;
  return nullptr;
}

const CommandSpec* findProxySubcommand(const CommandSpec& container, std::string_view sub) {
  if (std::strcmp(container.name, "client") != 0) return nullptr;
  if (equalsIgnoreCase(sub, "no-touch")) return &kClientNoTouch;
  if (equalsIgnoreCase(sub, "setinfo")) return &kClientSetinfo;
  return nullptr;
}

}  // namespace slotgate::command
