// Replies the proxy gives itself, as a standalone Redis would: PING, ECHO, QUIT, SELECT,
// READONLY/READWRITE, CLUSTER KEYSLOT.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "proxy/command/command_spec.h"

namespace slotgate::request {

struct LocalReply {
  std::string reply;
  bool close_after = false;  // QUIT
};

LocalReply localReply(const command::CommandSpec& spec, std::span<const std::string_view> argv);

}  // namespace slotgate::request
