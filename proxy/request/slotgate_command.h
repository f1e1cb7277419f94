// SLOTGATE CONFIG GET|SET, SLOTGATE RELOAD, SLOTGATE TOPOLOGY, SLOTGATE HELP: slotgate's own settings and view of
// the cluster, kept apart from Redis's CONFIG (which goes to the nodes).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "config/config.h"
#include "proxy/command/command_spec.h"

namespace slotgate::request {

struct LocalContext;

// What a client's SLOTGATE RELOAD and SLOTGATE CONFIG SET ask of the whole proxy. Implemented by
// the server; callable from any worker thread. Both return the RESP reply.
class ControlPort {
 public:
  virtual ~ControlPort() = default;
  // Reads the configuration file again and applies it (as SIGHUP does).
  virtual std::string reload() = 0;
  // Applies one live setting to every worker.
  virtual std::string configSet(std::string_view key, std::string_view value) = 0;
  // The settings now (workers receive each new snapshot shortly after it is made).
  virtual std::shared_ptr<const config::Config> current() const = 0;
};

std::string slotgateReply(const command::CommandSpec& spec, std::span<const std::string_view> argv,
                          const LocalContext& context);

}  // namespace slotgate::request
