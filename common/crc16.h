// CRC16-XMODEM (polynomial 0x1021, initial value 0), the checksum Redis Cluster hashes keys with.
#pragma once

#include <cstdint>
#include <string_view>

namespace slotgate::common {

uint16_t crc16(std::string_view data);

}  // namespace slotgate::common
