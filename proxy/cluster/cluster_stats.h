// What the control loop's topology tracker and cluster-bus observer count. Written by the control
// thread only, readable from any thread.
#pragma once

#include "common/stats.h"

namespace slotgate::cluster {

#define SLOTGATE_CLUSTER_STATS(X)                                                              \
  X(refreshes_bootstrap, "topology refreshes at start-up")                                     \
  X(refreshes_periodic, "topology refreshes from the periodic timer")                          \
  X(refreshes_redirect, "topology refreshes asked for by a MOVED redirect")                    \
  X(refreshes_node_error, "topology refreshes asked for after a node was unreachable or lost") \
  X(refreshes_gossip, "topology refreshes asked for by the cluster-bus observer")              \
  X(refreshes_failed, "topology refreshes no known node answered")                             \
  X(topology_changes, "new slot maps published to the workers")                                \
  X(stale_claims_kept, "slots where a node's stale answer lost to a newer config epoch")       \
  X(gossip_pings_sent, "PINGs sent to nodes' cluster-bus ports")                               \
  X(gossip_pongs_received, "PONGs received from nodes' cluster-bus ports")                     \
  X(gossip_bad_packets, "cluster-bus packets that did not parse (the link was closed)")        \
  X(gossip_link_failures, "cluster-bus connections refused or lost")                           \
  X(failovers_observed, "primaries seen failed (requests for their slots held for a replica)") \
  X(failovers_completed, "held slots taken over by another node")

struct ClusterStats {
  SLOTGATE_CLUSTER_STATS(SLOTGATE_DECLARE_COUNTER)
};

// Why a refresh was asked for.
enum class RefreshCause { kBootstrap, kPeriodic, kRedirect, kNodeError, kGossip };

}  // namespace slotgate::cluster
