// Redis Cluster bus packets (`clusterMsg` in Redis's src/cluster.h): framing, parsing of the header
// and the gossip section of PING/PONG/MEET, and building the one packet slotgate sends, a PING
// with no slots and no gossip. All fields are big-endian on the wire. Pure: no sockets.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace slotgate::cluster {

namespace bus {

inline constexpr size_t kHeaderSize = 2256;      // clusterMsg without its data union
inline constexpr size_t kGossipSize = 104;       // clusterMsgDataGossip
inline constexpr size_t kNameLen = 40;           // CLUSTER_NAMELEN
inline constexpr size_t kIpLen = 46;             // NET_IP_STR_LEN
inline constexpr uint16_t kProtocolVersion = 1;  // CLUSTER_PROTO_VER
inline constexpr size_t kMaxPacket = 1 << 20;    // far above any real PING/PONG

// Message types (CLUSTERMSG_TYPE_*).
inline constexpr uint16_t kPing = 0;
inline constexpr uint16_t kPong = 1;
inline constexpr uint16_t kMeet = 2;
inline constexpr uint16_t kFail = 3;

// Node flags (CLUSTER_NODE_*), in the header and in each gossip entry.
inline constexpr uint16_t kFlagMaster = 1;
inline constexpr uint16_t kFlagReplica = 2;
inline constexpr uint16_t kFlagPFail = 4;
inline constexpr uint16_t kFlagFail = 8;
inline constexpr uint16_t kFlagMyself = 16;
inline constexpr uint16_t kFlagHandshake = 32;
inline constexpr uint16_t kFlagNoAddr = 64;

}  // namespace bus

// What one gossip entry says about another node.
struct BusGossip {
  std::string id;
  std::string ip;
  uint16_t port = 0;
  uint16_t cport = 0;
  uint16_t flags = 0;
};

struct BusPacket {
  uint32_t total_length = 0;
  uint16_t version = 0;
  uint16_t port = 0;
  uint16_t type = 0;
  uint16_t count = 0;
  uint64_t current_epoch = 0;
  uint64_t config_epoch = 0;
  std::string sender;                 // 40 hex chars
  std::array<uint8_t, 2048> slots{};  // bit s%8 of byte s/8 set: the sender serves slot s
  std::string replica_of;             // empty when the sender is a master (all zero on the wire)
  std::string ip;                     // empty when not announced
  uint16_t cport = 0;
  uint16_t flags = 0;
  std::vector<BusGossip> gossip;  // PING, PONG and MEET only

  bool servesSlot(int slot) const { return (slots[static_cast<size_t>(slot) >> 3] >> (slot & 7)) & 1; }
  int slotCount() const;
  bool master() const { return flags & bus::kFlagMaster; }
  bool failing() const { return flags & (bus::kFlagFail | bus::kFlagPFail); }
};

// How long the packet at the start of `data` is: 0 if fewer than 8 bytes are there yet, else its
// total length; -1 (with `error`) when the signature, or a length below the header's or above
// bus::kMaxPacket, shows these are not bus packets.
long busFrameLength(std::string_view data, std::string* error);

// Parses one whole packet (exactly busFrameLength bytes). Validates signature, version, type-
// specific length (header + count gossip entries, plus extensions when announced); false with
// `error` otherwise. Gossip is read for PING, PONG and MEET.
bool parseBusPacket(std::string_view packet, BusPacket* out, std::string* error);

// A PING from `sender_id` (40 chars) that claims no slots, carries no gossip, and says the sender
// is a master on `port`/`cport`. Redis answers it with a PONG and does not learn the sender.
std::string buildBusPing(std::string_view sender_id, uint16_t port, uint16_t cport);

// A random 40-char lowercase hex id, like Redis's node names.
std::string randomNodeId();

}  // namespace slotgate::cluster
