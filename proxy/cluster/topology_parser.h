// Builds a Topology from a node's CLUSTER SHARDS (Redis 7.0+) or CLUSTER SLOTS reply.
#pragma once

#include <optional>
#include <string>

#include "proxy/cluster/topology.h"
#include "proxy/resp/value.h"

namespace slotgate::cluster {

// `answering_host` replaces an empty or unknown ("?") endpoint: Redis leaves it out when the
// node does not know its own address, and the client is expected to use the one it dialed.
std::optional<Topology> parseClusterShards(const resp::Value& reply, const std::string& answering_host,
                                           std::string* error);
std::optional<Topology> parseClusterSlots(const resp::Value& reply, const std::string& answering_host,
                                          std::string* error);

}  // namespace slotgate::cluster
