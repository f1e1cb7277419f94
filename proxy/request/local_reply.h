// Replies the proxy gives itself, as a standalone Redis would: PING, ECHO, QUIT, SELECT,
// READONLY/READWRITE, CLUSTER KEYSLOT; and CLUSTER INFO/SLOTS/SHARDS/NODES/MYID, where slotgate
// presents itself as a one-node cluster owning every slot at its own address, so cluster-aware
// clients pointed at it keep all their traffic on it.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "config/config.h"
#include "proxy/cluster/topology.h"
#include "proxy/command/command_spec.h"

namespace slotgate::request {

class ControlPort;
class Slowlog;

struct LocalContext {
  std::string host;  // the address clients reach slotgate at
  uint16_t port = 0;
  std::string node_id;                          // 40 hex characters, stable for an address
  int slots_covered = 0;                        // by the real cluster, now
  const config::Config* config = nullptr;       // slotgate's settings (SLOTGATE CONFIG GET)
  const cluster::Topology* topology = nullptr;  // the cluster now (SLOTGATE TOPOLOGY); may be null
  int proto = 2;  // the client's protocol: RESP3 gets maps and verbatim strings where Redis sends them
  ControlPort* control = nullptr;  // SLOTGATE RELOAD / CONFIG SET; may be null
  Slowlog* slowlog = nullptr;      // answers SLOWLOG when set (else it goes to the nodes)
};

// A stable 40-character node id for an address.
std::string proxyNodeId(const std::string& host, uint16_t port);

struct LocalReply {
  std::string reply;
  bool close_after = false;  // QUIT
};

LocalReply localReply(const command::CommandSpec& spec, std::span<const std::string_view> argv,
                      const LocalContext& context);

}  // namespace slotgate::request
