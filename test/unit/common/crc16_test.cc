#include "common/crc16.h"

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <string_view>

namespace slotgate::common {
namespace {

using namespace std::string_literals;

// Bit-by-bit CRC16-XMODEM (poly 0x1021, init 0, no reflection, no final xor): slow but obviously
// right, to check the table-driven version against.
uint16_t referenceCrc16(std::string_view data) {
  uint16_t crc = 0;
  for (unsigned char byte : data) {
    crc ^= static_cast<uint16_t>(byte << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021) : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

}  // namespace

TEST_CASE("CRC16-XMODEM check value", "[crc16]") {
  // The standard check value of CRC-16/XMODEM, also quoted in Redis's cluster spec.
  CHECK(crc16("123456789") == 0x31C3);
}

TEST_CASE("CRC16 known values", "[crc16]") {
  CHECK(crc16("") == 0);
  CHECK(crc16("A") == 0x58E5);
  CHECK(crc16("\0"s) == 0);
  CHECK(crc16("\0\0"s) == 0);
  CHECK(crc16("\xff") == 0x1EF0);
  // Slots Redis 7.0.15 gives (CLUSTER KEYSLOT) are the CRC's low 14 bits.
  CHECK((crc16("foo") & 16383) == 12182);
  CHECK((crc16("bar") & 16383) == 5061);
  CHECK((crc16("hello") & 16383) == 866);
}

TEST_CASE("CRC16 matches a bitwise reference on every byte and random data", "[crc16]") {
  for (int b = 0; b < 256; ++b) {
    std::string one(1, static_cast<char>(b));
    INFO("byte " << b);
    CHECK(crc16(one) == referenceCrc16(one));
  }
  std::mt19937 rng(2024);
  for (int i = 0; i < 500; ++i) {
    std::string data(std::uniform_int_distribution<size_t>(0, 300)(rng), '\0');
    for (char& c : data) c = static_cast<char>(rng() & 0xff);
    CHECK(crc16(data) == referenceCrc16(data));
  }
}

}  // namespace slotgate::common
