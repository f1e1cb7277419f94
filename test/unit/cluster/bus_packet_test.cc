#include "proxy/cluster/bus_packet.h"

#include <catch2/catch.hpp>

#include <string>

namespace slotgate::cluster {
namespace {

// Builds packets byte by byte at clusterMsg's offsets, independently of the code under test.
struct Bytes {
  std::string d;
  explicit Bytes(size_t n) : d(n, '\0') {}
  void u16(size_t at, uint16_t v) {
    d[at] = static_cast<char>(v >> 8);
    d[at + 1] = static_cast<char>(v);
  }
  void u32(size_t at, uint32_t v) {
    u16(at, static_cast<uint16_t>(v >> 16));
    u16(at + 2, static_cast<uint16_t>(v));
  }
  void u64(size_t at, uint64_t v) {
    u32(at, static_cast<uint32_t>(v >> 32));
    u32(at + 4, static_cast<uint32_t>(v));
  }
  void str(size_t at, const std::string& s) { d.replace(at, s.size(), s); }
};

const std::string kSender(40, 'a');
const std::string kMaster = "0123456789abcdef0123456789abcdef01234567";
const std::string kOther = "fedcba9876543210fedcba9876543210fedcba98";

// A PONG from a master serving slots [first, last] with `gossip` entries.
Bytes pong(int first, int last, uint16_t gossip, uint16_t flags = bus::kFlagMaster) {
  Bytes b(2256 + 104 * gossip);
  b.str(0, "RCmb");
  b.u32(4, static_cast<uint32_t>(b.d.size()));
  b.u16(8, 1);
  b.u16(10, 30001);
  b.u16(12, bus::kPong);
  b.u16(14, gossip);
  b.u64(16, 0x0102030405060708ull);  // currentEpoch
  b.u64(24, 7);                      // configEpoch
  b.str(40, kSender);
  for (int s = first; s <= last; ++s) b.d[80 + s / 8] = static_cast<char>(b.d[80 + s / 8] | (1 << (s % 8)));
  b.str(2168, "127.0.0.1");
  b.u16(2248, 40001);
  b.u16(2250, flags);
  return b;
}

void gossipEntry(Bytes& b, int i, const std::string& id, uint16_t port, uint16_t cport, uint16_t flags) {
  size_t at = 2256 + 104 * static_cast<size_t>(i);
  b.str(at, id);
  b.str(at + 48, "10.0.0.9");
  b.u16(at + 94, port);
  b.u16(at + 96, cport);
  b.u16(at + 98, flags);
}

}  // namespace

TEST_CASE("a PONG's header and gossip entries parse", "[bus]") {
  Bytes b = pong(0, 5460, 2);
  gossipEntry(b, 0, kMaster, 30002, 40002, bus::kFlagMaster | bus::kFlagFail);
  gossipEntry(b, 1, kOther, 30003, 40003, bus::kFlagReplica);
  std::string error;
  REQUIRE(busFrameLength(b.d, &error) == static_cast<long>(b.d.size()));
  BusPacket p;
  REQUIRE(parseBusPacket(b.d, &p, &error));
  CHECK(p.type == bus::kPong);
  CHECK(p.version == 1);
  CHECK(p.port == 30001);
  CHECK(p.current_epoch == 0x0102030405060708ull);
  CHECK(p.config_epoch == 7);
  CHECK(p.sender == kSender);
  CHECK(p.replica_of.empty());
  CHECK(p.ip == "127.0.0.1");
  CHECK(p.cport == 40001);
  CHECK(p.master());
  CHECK_FALSE(p.failing());
  CHECK(p.slotCount() == 5461);
  CHECK(p.servesSlot(0));
  CHECK(p.servesSlot(5460));
  CHECK_FALSE(p.servesSlot(5461));
  REQUIRE(p.gossip.size() == 2);
  CHECK(p.gossip[0].id == kMaster);
  CHECK(p.gossip[0].ip == "10.0.0.9");
  CHECK(p.gossip[0].port == 30002);
  CHECK(p.gossip[0].cport == 40002);
  CHECK((p.gossip[0].flags & bus::kFlagFail));
  CHECK(p.gossip[1].id == kOther);
  CHECK(p.gossip[1].flags == bus::kFlagReplica);
}

TEST_CASE("a replica's PONG names its master and claims no slots", "[bus]") {
  Bytes b = pong(1, 0, 0, bus::kFlagReplica | bus::kFlagPFail);
  b.str(2128, kMaster);
  BusPacket p;
  std::string error;
  REQUIRE(parseBusPacket(b.d, &p, &error));
  CHECK(p.replica_of == kMaster);
  CHECK_FALSE(p.master());
  CHECK(p.failing());
  CHECK(p.slotCount() == 0);
}

TEST_CASE("odd slot bits map to the right slots", "[bus]") {
  Bytes b = pong(1, 0, 0);
  b.d[80 + 16383 / 8] = static_cast<char>(0x80);  // slot 16383: top bit of the last byte
  b.d[80 + 1] = 0x01;                             // slot 8
  BusPacket p;
  std::string error;
  REQUIRE(parseBusPacket(b.d, &p, &error));
  CHECK(p.slotCount() == 2);
  CHECK(p.servesSlot(16383));
  CHECK(p.servesSlot(8));
  CHECK_FALSE(p.servesSlot(7));
}

TEST_CASE("extensions after the gossip are allowed only when announced", "[bus]") {
  Bytes b = pong(0, 10, 1);
  gossipEntry(b, 0, kOther, 1, 2, bus::kFlagMaster);
  b.d.append(16, 'x');
  b.u32(4, static_cast<uint32_t>(b.d.size()));
  BusPacket p;
  std::string error;
  CHECK_FALSE(parseBusPacket(b.d, &p, &error));
  b.u16(2214, 1);  // extensions
  b.d[2253] = 4;   // CLUSTERMSG_FLAG0_EXT_DATA
  REQUIRE(parseBusPacket(b.d, &p, &error));
  CHECK(p.gossip.size() == 1);
}

TEST_CASE("malformed packets are refused, never read past their end", "[bus]") {
  std::string error;
  BusPacket p;
  Bytes good = pong(0, 100, 1);
  gossipEntry(good, 0, kOther, 1, 2, 0);

  SECTION("framing needs 8 bytes") {
    CHECK(busFrameLength(good.d.substr(0, 7), &error) == 0);
    CHECK(busFrameLength(good.d.substr(0, 8), &error) == static_cast<long>(good.d.size()));
  }
  SECTION("bad signature") {
    Bytes b = good;
    b.d[0] = 'X';
    CHECK(busFrameLength(b.d, &error) == -1);
    CHECK_FALSE(parseBusPacket(b.d, &p, &error));
  }
  SECTION("length below the header or absurd") {
    Bytes b = good;
    b.u32(4, 100);
    CHECK(busFrameLength(b.d, &error) == -1);
    b.u32(4, 0xffffffff);
    CHECK(busFrameLength(b.d, &error) == -1);
  }
  SECTION("total length disagrees with the bytes") {
    Bytes b = good;
    b.u32(4, static_cast<uint32_t>(b.d.size() + 1));
    CHECK_FALSE(parseBusPacket(b.d, &p, &error));
    CHECK_FALSE(parseBusPacket(good.d.substr(0, 2000), &p, &error));
  }
  SECTION("gossip count larger than the packet") {
    Bytes b = good;
    b.u16(14, 5);
    CHECK_FALSE(parseBusPacket(b.d, &p, &error));
    CHECK(error.find("gossip") != std::string::npos);
  }
  SECTION("wrong protocol version") {
    Bytes b = good;
    b.u16(8, 2);
    CHECK_FALSE(parseBusPacket(b.d, &p, &error));
  }
  SECTION("sender not hex") {
    Bytes b = good;
    b.str(40, "ZZ");
    CHECK_FALSE(parseBusPacket(b.d, &p, &error));
  }
  SECTION("every truncation fails cleanly") {
    for (size_t n = 0; n < good.d.size(); n += 97) CHECK_FALSE(parseBusPacket(good.d.substr(0, n), &p, &error));
  }
}

TEST_CASE("the PING slotgate sends is a bare 2256-byte header", "[bus]") {
  std::string id = randomNodeId();
  REQUIRE(id.size() == 40);
  CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(randomNodeId() != id);
  std::string ping = buildBusPing(id, 0, 0);
  REQUIRE(ping.size() == 2256);
  CHECK(ping.substr(0, 4) == "RCmb");
  CHECK(ping.substr(4, 4) == std::string("\0\0\x08\xd0", 4));  // 2256 big-endian
  CHECK(ping.substr(8, 2) == std::string("\0\x01", 2));        // version 1
  CHECK(ping.substr(12, 4) == std::string(4, '\0'));           // type PING, count 0
  CHECK(ping.substr(40, 40) == id);
  CHECK(ping.substr(80, 2048) == std::string(2048, '\0'));  // no slots
  CHECK(ping.substr(2128, 40) == std::string(40, '\0'));    // no master
  BusPacket p;
  std::string error;
  REQUIRE(parseBusPacket(ping, &p, &error));
  CHECK(p.type == bus::kPing);
  CHECK(p.gossip.empty());
}

}  // namespace slotgate::cluster
