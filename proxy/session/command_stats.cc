#include "proxy/session/command_stats.h"

#include <cstring>

namespace slotgate::session {

CommandCounters& CommandStats::countersFor(const command::CommandSpec& spec) {
  auto [it, inserted] = by_pointer_.try_emplace(spec.name);
  if (inserted) {
    it->second.name = spec.name;
  } else if (std::strcmp(it->second.name.c_str(), spec.name) != 0) {
    return by_string_[spec.name];
  }
  return it->second.counters;
}

std::unordered_map<std::string, CommandCounters> CommandStats::byName() const {
  std::unordered_map<std::string, CommandCounters> out = by_string_;
  for (const auto& [pointer, named] : by_pointer_) {
    CommandCounters& c = out[named.name];
    c.calls += named.counters.calls;
    c.errors += named.counters.errors;
    c.usec += named.counters.usec;
  }
  return out;
}

}  // namespace slotgate::session
