// Lookups over the generated table (command_table_data.cc), on a lower-cased copy of the name kept
// on the stack: top-level commands through a hash map built once, subcommands (few per container)
// by binary search. No allocation per lookup, nothing mutable shared between threads.
#include "proxy/command/command_table.h"

#include <algorithm>
#include <array>
#include <unordered_map>

namespace slotgate::command {
namespace {

// Longer than any Redis command or subcommand name; a longer request name cannot match.
constexpr size_t kMaxNameLength = 32;

// Lower-cases `name` into `buf` and returns the copy; an empty view when `name` is empty or too
// long to be a command name.
std::string_view lowerInto(std::string_view name, std::array<char, kMaxNameLength>& buf) {
  if (name.empty() || name.size() > buf.size()) return {};
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    buf[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return {buf.data(), name.size()};
}

// "object|encoding" -> "encoding".
std::string_view subcommandPart(const CommandSpec& spec) {
  std::string_view name = spec.name;
  size_t bar = name.find('|');
  return bar == std::string_view::npos ? name : name.substr(bar + 1);
}

template <typename Projection>
const CommandSpec* search(std::span<const CommandSpec> table, std::string_view key, Projection projection) {
  auto it = std::ranges::lower_bound(table, key, {}, projection);
  if (it == table.end() || projection(*it) != key) return nullptr;
  return &*it;
}

}  // namespace

const CommandSpec* findCommand(std::string_view name) {
  // Called for every request: a hash lookup, built once (thread-safe static initialisation), costs
  // a fraction of a binary search whose every probe measures a C string.
  static const std::unordered_map<std::string_view, const CommandSpec*> kByName = [] {
    std::unordered_map<std::string_view, const CommandSpec*> map;
    for (const CommandSpec& spec : allCommands()) map.emplace(spec.name, &spec);
    return map;
  }();
  std::array<char, kMaxNameLength> buf;
  std::string_view key = lowerInto(name, buf);
  if (key.empty()) return nullptr;
  auto it = kByName.find(key);
  return it == kByName.end() ? nullptr : it->second;
}

const CommandSpec* findSubcommand(const CommandSpec& container, std::string_view sub) {
  if (container.subcommands == nullptr || container.subcommand_count == 0) return nullptr;
  std::array<char, kMaxNameLength> buf;
  std::string_view key = lowerInto(sub, buf);
  if (key.empty()) return nullptr;
  return search(std::span(container.subcommands, container.subcommand_count), key, subcommandPart);
}

}  // namespace slotgate::command
