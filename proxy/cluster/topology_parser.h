// Builds a Topology from a node's CLUSTER SHARDS (Redis 7.0+) or CLUSTER SLOTS reply.
#pragma once

#include <optional>
#include <string>

#include "proxy/cluster/topology.h"
#include "proxy/resp/value.h"

namespace slotgate::cluster {

// `answering_host` replaces an empty or unknown ("?") endpoint: Redis leaves it out when the
// node does not know its own address, and the client is expected to use the one it dialed.
// With `tls`, each node's `tls-port` is used where the reply gives one (else `port`, which a
// cluster with tls-cluster yes fills with the TLS port); without, `port`, and a node with only a
// tls-port is an error that says so.
std::optional<Topology> parseClusterShards(const resp::Value& reply, const std::string& answering_host,
                                           std::string* error, bool tls = false);
std::optional<Topology> parseClusterSlots(const resp::Value& reply, const std::string& answering_host,
                                          std::string* error);

}  // namespace slotgate::cluster
