#include "proxy/command/key_slot.h"

#include "common/crc16.h"

namespace slotgate::command {

uint16_t keyHashSlot(std::string_view key) {
  size_t open = key.find('{');
  if (open != std::string_view::npos) {
    size_t close = key.find('}', open + 1);
    // "{}" hashes the whole key, like Redis.
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return common::crc16(key) & (kSlotCount - 1);
}

}  // namespace slotgate::command
