// Merging a node's fresh answer with the map in use, by config epoch, as Redis itself settles who
// owns a slot: a claim with a higher config epoch wins. A node that has not heard of a failover or
// a migration yet answers with an older owner; the newer claim is kept. Pure.
#pragma once

#include <string>

#include "proxy/cluster/topology.h"

namespace slotgate::cluster {

struct MergeResult {
  Topology topology;
  int kept_slots = 0;  // slots where the current owner's newer claim beat the answer
};

// Per slot: the answer's owner, unless the current owner has a known, strictly higher config
// epoch than the answer's owner and is still a member of the cluster (present in `fresh`), and
// `answering_id` is not that current owner (a node is the authority on giving its own slots up).
// A slot the answer leaves unowned keeps its current owner (added back if the answer lacks it).
// Nodes of `fresh` that are kept as owners are marked primary with the current map's epoch.
MergeResult mergeByEpoch(const Topology* current, Topology fresh, const std::string& answering_id);

}  // namespace slotgate::cluster
