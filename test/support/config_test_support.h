// What the config tests share: loading a string, the single error of a load, joined messages.
#pragma once

#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_loader.h"

namespace slotgate::config::test {

inline LoadResult load(std::string_view yaml) { return loadString(yaml, "test.yaml"); }

// The single error of a load that must have exactly one.
inline std::string onlyError(std::string_view yaml) {
  LoadResult result = load(yaml);
  INFO(yaml);
  REQUIRE(result.errors.size() == 1);
  return result.errors[0];
}

inline std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

}  // namespace slotgate::config::test
