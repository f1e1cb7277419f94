#include "proxy/cluster/bus_packet.h"

#include <random>

namespace slotgate::cluster {
namespace {

// Offsets into clusterMsg (src/cluster.h).
constexpr size_t kOffTotlen = 4;
constexpr size_t kOffVer = 8;
constexpr size_t kOffPort = 10;
constexpr size_t kOffType = 12;
constexpr size_t kOffCount = 14;
constexpr size_t kOffCurrentEpoch = 16;
constexpr size_t kOffConfigEpoch = 24;
constexpr size_t kOffSender = 40;
constexpr size_t kOffSlots = 80;
constexpr size_t kOffSlaveOf = 2128;
constexpr size_t kOffMyIp = 2168;
constexpr size_t kOffExtensions = 2214;
constexpr size_t kOffCport = 2248;
constexpr size_t kOffFlags = 2250;
constexpr size_t kOffMflags = 2253;
constexpr uint8_t kMflag0ExtData = 4;  // CLUSTERMSG_FLAG0_EXT_DATA

// Offsets into clusterMsgDataGossip.
constexpr size_t kGossipIp = 48;
constexpr size_t kGossipPort = 94;
constexpr size_t kGossipCport = 96;
constexpr size_t kGossipFlags = 98;

uint16_t be16(std::string_view d, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(d[at]) << 8) | static_cast<uint8_t>(d[at + 1]));
}
uint32_t be32(std::string_view d, size_t at) { return (uint32_t{be16(d, at)} << 16) | be16(d, at + 2); }
uint64_t be64(std::string_view d, size_t at) { return (uint64_t{be32(d, at)} << 32) | be32(d, at + 4); }
void put16(std::string& d, size_t at, uint16_t v) {
  d[at] = static_cast<char>(v >> 8);
  d[at + 1] = static_cast<char>(v & 0xff);
}
void put32(std::string& d, size_t at, uint32_t v) {
  put16(d, at, static_cast<uint16_t>(v >> 16));
  put16(d, at + 2, static_cast<uint16_t>(v & 0xffff));
}

// A fixed-size, NUL-padded C string field; empty if it starts with NUL.
std::string cstring(std::string_view d, size_t at, size_t len) {
  std::string_view field = d.substr(at, len);
  size_t end = field.find('\0');
  return std::string(field.substr(0, end));
}

}  // namespace

int BusPacket::slotCount() const {
  int n = 0;
  for (uint8_t byte : slots) n += __builtin_popcount(byte);
  return n;
}

long busFrameLength(std::string_view data, std::string* error) {
  if (data.size() < 8) return 0;
  if (data.substr(0, 4) != "RCmb") {
    *error = "bad signature";
    return -1;
  }
  uint32_t length = be32(data, kOffTotlen);
  if (length < bus::kHeaderSize || length > bus::kMaxPacket) {
    *error = "bad total length " + std::to_string(length);
    return -1;
  }
  return static_cast<long>(length);
}

bool parseBusPacket(std::string_view d, BusPacket* out, std::string* error) {
  if (d.size() < bus::kHeaderSize) {
    *error = "packet shorter than the header (" + std::to_string(d.size()) + " bytes)";
    return false;
  }
  if (d.substr(0, 4) != "RCmb") {
    *error = "bad signature";
    return false;
  }
  BusPacket p;
  p.total_length = be32(d, kOffTotlen);
  if (p.total_length != d.size()) {
    *error = "total length " + std::to_string(p.total_length) + " but " + std::to_string(d.size()) + " bytes";
    return false;
  }
  p.version = be16(d, kOffVer);
  if (p.version != bus::kProtocolVersion) {
    *error = "protocol version " + std::to_string(p.version);
    return false;
  }
  p.port = be16(d, kOffPort);
  p.type = be16(d, kOffType);
  p.count = be16(d, kOffCount);
  p.current_epoch = be64(d, kOffCurrentEpoch);
  p.config_epoch = be64(d, kOffConfigEpoch);
  p.sender = std::string(d.substr(kOffSender, bus::kNameLen));
  for (char c : p.sender) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      *error = "sender id is not 40 hex characters";
      return false;
    }
  }
  for (size_t i = 0; i < p.slots.size(); ++i) p.slots[i] = static_cast<uint8_t>(d[kOffSlots + i]);
  p.replica_of = cstring(d, kOffSlaveOf, bus::kNameLen);
  p.ip = cstring(d, kOffMyIp, bus::kIpLen);
  p.cport = be16(d, kOffCport);
  p.flags = be16(d, kOffFlags);

  bool gossip = p.type == bus::kPing || p.type == bus::kPong || p.type == bus::kMeet;
  if (gossip) {
    size_t expected = bus::kHeaderSize + bus::kGossipSize * p.count;
    bool extensions = (static_cast<uint8_t>(d[kOffMflags]) & kMflag0ExtData) && be16(d, kOffExtensions) > 0;
    // Extensions (hostname, forgotten nodes, ...) follow the gossip; only their presence is checked.
    if (extensions ? d.size() < expected : d.size() != expected) {
      *error = "length " + std::to_string(d.size()) + " does not fit " + std::to_string(p.count) +
               " gossip entries";
      return false;
    }
    p.gossip.reserve(p.count);
    for (size_t i = 0; i < p.count; ++i) {
      std::string_view g = d.substr(bus::kHeaderSize + i * bus::kGossipSize, bus::kGossipSize);
      BusGossip entry;
      entry.id = std::string(g.substr(0, bus::kNameLen));
      entry.ip = cstring(g, kGossipIp, bus::kIpLen);
      entry.port = be16(g, kGossipPort);
      entry.cport = be16(g, kGossipCport);
      entry.flags = be16(g, kGossipFlags);
      p.gossip.push_back(std::move(entry));
    }
  }
  *out = std::move(p);
  return true;
}

std::string buildBusPing(std::string_view sender_id, uint16_t port, uint16_t cport) {
  std::string d(bus::kHeaderSize, '\0');
  d.replace(0, 4, "RCmb");
  put32(d, kOffTotlen, static_cast<uint32_t>(bus::kHeaderSize));
  put16(d, kOffVer, bus::kProtocolVersion);
  put16(d, kOffPort, port);
  put16(d, kOffType, bus::kPing);
  put16(d, kOffCount, 0);
  d.replace(kOffSender, bus::kNameLen, sender_id.substr(0, bus::kNameLen));
  put16(d, kOffCport, cport);
  put16(d, kOffFlags, bus::kFlagMaster);
  return d;
}

std::string randomNodeId() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device device;
  std::mt19937_64 rng((uint64_t{device()} << 32) ^ device());
  std::string id(bus::kNameLen, '0');
  for (char& c : id) c = kHex[rng() & 15];
  return id;
}

}  // namespace slotgate::cluster
