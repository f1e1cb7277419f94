// CLUSTER NODES text, read for what CLUSTER SHARDS does not say: each node's cluster-bus port
// (@cport), its config epoch and its failure flags. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/cluster/topology.h"

namespace slotgate::cluster {

struct ClusterNodesEntry {
  std::string id;
  std::string host;  // empty when the node has no address yet
  uint16_t port = 0;
  uint16_t cport = 0;
  bool master = false;
  bool fail = false;   // "fail": the cluster agreed the node is down
  bool pfail = false;  // "fail?": the answering node alone suspects it
  bool handshake = false;
  bool myself = false;
  std::string master_id;  // replicas
  uint64_t config_epoch = 0;
};

// One entry per line; false with `error` on a malformed line.
bool parseClusterNodes(std::string_view text, std::vector<ClusterNodesEntry>* out, std::string* error);

// Copies cport and config epoch onto the topology's nodes (matched by id, else by address), and
// marks primaries the cluster flagged "fail" as failing.
void annotate(Topology& topology, const std::vector<ClusterNodesEntry>& entries);

}  // namespace slotgate::cluster
