// Commands the generated table does not know (newer Redis versions, module commands), learned from
// a node's COMMAND reply so they route by their keys instead of failing. Built once per fetch on
// the control loop, then shared read-only with the workers.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/command/command_spec.h"
#include "proxy/resp/value.h"

namespace slotgate::command {

class LearnedCommands {
 public:
  // Keeps the entries of a COMMAND (or COMMAND INFO) reply that the generated table lacks.
  // Entries it cannot read are skipped; nullopt only if the reply is not a command list at all.
  static std::optional<LearnedCommands> fromCommandReply(const resp::Value& reply, std::string* error);

  LearnedCommands() = default;
  LearnedCommands(LearnedCommands&&) = default;
  LearnedCommands& operator=(LearnedCommands&&) = default;

  // Case-insensitive; nullptr if not learned.
  const CommandSpec* find(std::string_view name) const;
  size_t size() const { return commands_.size(); }
  std::vector<std::string> names() const;

 private:
  struct Learned {
    std::string name;
    std::vector<KeySpec> key_specs;
    std::deque<std::string> keywords;  // storage for KeySpec::keyword
    CommandSpec spec;
  };
  // Deque: the CommandSpecs' addresses stay put as entries are added.
  std::deque<Learned> commands_;
  std::unordered_map<std::string, const Learned*> by_name_;
};

using LearnedCommandsPtr = std::shared_ptr<const LearnedCommands>;

}  // namespace slotgate::command
