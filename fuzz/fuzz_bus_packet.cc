// libFuzzer target: Redis Cluster bus packets as a node's bus port (or anything posing as one)
// might send them, framed back to back and parsed.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/cluster/bus_packet.h"

#define FUZZ_CHECK(cond)           \
  do {                             \
    if (!(cond)) __builtin_trap(); \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view stream(reinterpret_cast<const char*>(data), size);
  while (!stream.empty()) {
    std::string error;
    long length = slotgate::cluster::busFrameLength(stream, &error);
    if (length < 0) {
      FUZZ_CHECK(!error.empty());
      break;
    }
    if (length == 0 || static_cast<size_t>(length) > stream.size()) break;  // needs more bytes
    FUZZ_CHECK(static_cast<size_t>(length) >= slotgate::cluster::bus::kHeaderSize);
    slotgate::cluster::BusPacket packet;
    if (slotgate::cluster::parseBusPacket(stream.substr(0, length), &packet, &error)) {
      FUZZ_CHECK(packet.total_length == static_cast<uint32_t>(length));
      FUZZ_CHECK(packet.gossip.size() <= packet.count);
      (void)packet.slotCount();
    } else {
      FUZZ_CHECK(!error.empty());
    }
    stream.remove_prefix(length);
  }
  return 0;
}
