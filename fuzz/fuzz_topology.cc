// libFuzzer target: CLUSTER SHARDS and CLUSTER SLOTS replies as a node (or something posing as
// one) might send them, decoded and turned into a topology.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/cluster/topology_parser.h"
#include "proxy/resp/value.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto value = slotgate::resp::decodeValue(input);
  if (!value) return 0;
  std::string error;
  auto shards = slotgate::cluster::parseClusterShards(*value, "127.0.0.1", &error);
  if (!shards && error.empty()) __builtin_trap();  // a refusal always says why
  error.clear();
  auto slots = slotgate::cluster::parseClusterSlots(*value, "127.0.0.1", &error);
  if (!slots && error.empty()) __builtin_trap();
  return 0;
}
