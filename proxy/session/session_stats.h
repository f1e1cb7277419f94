// What client sessions count, per worker.
#pragma once

#include "common/stats.h"

namespace slotgate::session {

#define SLOTGATE_SESSION_STATS(X)                                             \
  X(connected_clients, "clients connected now")                               \
  X(parked_clients, "idle clients parked now (their socket watched bare)")    \
  X(total_connections_received, "clients accepted since start")               \
  X(total_commands_processed, "commands received from clients")               \
  X(protocol_errors, "clients closed for a protocol error")                   \
  X(output_limit_disconnects, "clients closed for not reading their replies") \
  X(idle_disconnects, "clients closed after the idle timeout")                \
  X(rejected_connections, "clients refused: max_clients reached")             \
  X(denied_connections, "clients refused by protected mode")                  \
  X(oom_rejections, "commands refused: buffered memory over limits.maxmemory")

struct SessionStats {
  SLOTGATE_SESSION_STATS(SLOTGATE_DECLARE_COUNTER)
};

}  // namespace slotgate::session
