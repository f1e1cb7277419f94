// Redis Cluster's key -> hash slot mapping (keyHashSlot in Redis's cluster.c): CRC16 of the key,
// or of the part between the first '{' and the first '}' after it when that part is non-empty.
#pragma once

#include <cstdint>
#include <string_view>

namespace slotgate::command {

inline constexpr int kSlotCount = 16384;

uint16_t keyHashSlot(std::string_view key);

}  // namespace slotgate::command
