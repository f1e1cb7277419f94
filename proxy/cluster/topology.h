// An immutable picture of the cluster: its nodes and which primary serves each of the 16384
// slots. The control loop builds one per refresh and shares it with the workers read-only.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace slotgate::cluster {

inline constexpr int kSlots = 16384;

struct NodeInfo {
  std::string id;
  std::string host;
  uint16_t port = 0;
  bool primary = false;
  std::string primary_id;     // replicas: the id of their primary
  bool healthy = true;        // not reported failed
  uint16_t cport = 0;         // cluster-bus port, 0 if not known (then port + 10000)
  uint64_t config_epoch = 0;  // from CLUSTER NODES; 0 if not known
  bool failing = false;       // a failed primary: requests for its slots wait for a replica to take over

  std::string address() const;  // "host:port", IPv6 hosts in brackets
};

class Topology {
 public:
  Topology();

  // Adds a node, or returns the index of the node with the same host:port.
  int addNode(NodeInfo node);
  // Assigns [first, last] to the node at `index` (a primary).
  void assign(int first, int last, int index);

  const std::vector<NodeInfo>& nodes() const { return nodes_; }
  // For the builder, before the topology is shared.
  NodeInfo& node(int index) { return nodes_[static_cast<size_t>(index)]; }
  // Index of the node with this id / address, or -1.
  int findById(const std::string& id) const;
  int findByAddress(const std::string& host, uint16_t port) const;
  // Index into nodes() of the primary serving `slot`, or -1.
  int ownerOf(int slot) const { return owner_[slot]; }
  int coveredSlots() const;
  size_t primaryCount() const;
  // True when both assign every slot to the same host:port.
  bool sameSlotMap(const Topology& other) const;
  // sameSlotMap, and the same nodes with the same roles, epochs and failing flags.
  bool sameView(const Topology& other) const;
  // The slots the node at `index` serves, as "0-5460,5470"; `count` (if given) gets how many.
  std::string slotRanges(int index, int* count = nullptr) const;
  // "host:port 0-5460 (5461 slots); ..." for the log.
  std::string describe() const;

 private:
  std::vector<NodeInfo> nodes_;
  std::array<int16_t, kSlots> owner_;
};

using TopologyPtr = std::shared_ptr<const Topology>;

}  // namespace slotgate::cluster
