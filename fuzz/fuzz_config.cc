// libFuzzer target: the YAML configuration loader, validate() and settings() on whatever loaded.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/config_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view yaml(reinterpret_cast<const char*>(data), size);
  slotgate::config::LoadResult result = slotgate::config::loadString(yaml, "fuzz.yaml");
  (void)slotgate::config::validate(result.config);
  (void)slotgate::config::settings(result.config);
  for (const auto& error : result.errors) {
    if (!std::string_view(error).starts_with("fuzz.yaml")) __builtin_trap();
  }
  return 0;
}
