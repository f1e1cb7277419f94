// GET /topology: the cluster as slotgate sees it, as JSON. Pure.
#pragma once

#include <string>

#include "proxy/cluster/topology.h"

namespace slotgate::admin {

// {"slots_covered":16384,"nodes":[{"id":..,"address":"h:p","role":"primary"|"replica",
//  "primary_id":..,"health":"online"|"failed","slots":5461,"slot_ranges":[[0,5460]]},...]}
// A null topology gives {"slots_covered":0,"nodes":[]}. A non-empty `gossip` (the bus observer's
// status: "on", "on (TLS)", "off: why", ...) adds "gossip":"..." after the nodes; a non-empty
// `discovery_error` (why no node answered) adds "discovery_error":"...".
std::string topologyJson(const cluster::Topology* topology, std::string_view gossip = {},
                         std::string_view discovery_error = {});

// `text` as a JSON string literal, quotes included.
std::string jsonString(std::string_view text);

}  // namespace slotgate::admin
