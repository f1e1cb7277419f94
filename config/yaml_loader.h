// The walk of a YAML document against the schema (kKeys): the config library's only yaml-cpp user
// (yaml_loader.cc; this header only names yaml-cpp's types). Internal to the config library.
#pragma once

#include <string>
#include <string_view>

#include "config/config_keys.h"
#include "config/config_loader.h"

namespace YAML {
class Node;
struct Mark;
}  // namespace YAML

namespace slotgate::config::detail {

// Loads settings onto a Config and collects every problem, each message prefixed with the source
// name (and the line, when known). What yaml-cpp throws outside a parse may escape; callers catch.
class YamlLoader {
 public:
  explicit YamlLoader(std::string_view source, Config initial = {});

  // Loads one document: syntax, types, unknown and duplicate keys, each value's range. A stream of
  // more than one document is an error; an empty one keeps the initial config.
  LoadResult run(std::string_view yaml);

  // Loads `value` for `spec`'s setting as if the file gave it as a plain scalar under `key`.
  void loadSetting(const KeySpec& spec, std::string_view key, std::string_view value);

  // The result so far (the config as loaded, the problems found); leaves this loader empty.
  LoadResult take() { return std::move(result_); }

 private:
  void fail(const YAML::Mark& mark, std::string_view path, std::string_view what);
  void walkMap(const YAML::Node& map, const std::string& prefix);
  void loadValue(const KeySpec& spec, const YAML::Node& key, const YAML::Node& value);
  void loadUsers(const KeySpec& spec, const YAML::Node& key, const YAML::Node& value);
  void loadSeeds(const KeySpec& spec, const YAML::Node& key, const YAML::Node& value);
  void expected(const KeySpec& spec, const YAML::Node& key, const YAML::Node& value);

  std::string source_;
  LoadResult result_;
};

}  // namespace slotgate::config::detail
