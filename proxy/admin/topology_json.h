// GET /topology: the cluster as slotgate sees it, as JSON. Pure.
#pragma once

#include <string>

#include "proxy/cluster/topology.h"

namespace slotgate::admin {

// {"slots_covered":16384,"nodes":[{"id":..,"address":"h:p","role":"primary"|"replica",
//  "primary_id":..,"health":"online"|"failed","slots":5461,"slot_ranges":[[0,5460]]},...]}
// A null topology gives {"slots_covered":0,"nodes":[]}.
std::string topologyJson(const cluster::Topology* topology);

// `text` as a JSON string literal, quotes included.
std::string jsonString(std::string_view text);

}  // namespace slotgate::admin
