// SLOTGATE CONFIG GET|SET, SLOTGATE TOPOLOGY, SLOTGATE HELP: slotgate's own settings and view of
// the cluster, kept apart from Redis's CONFIG (which goes to the nodes).
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "proxy/command/command_spec.h"

namespace slotgate::request {

struct LocalContext;

std::string slotgateReply(const command::CommandSpec& spec, std::span<const std::string_view> argv,
                          const LocalContext& context);

}  // namespace slotgate::request
