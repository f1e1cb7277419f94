// What the request layer counts, per worker.
#pragma once

#include "common/stats.h"

namespace slotgate::request {

#define SLOTGATE_REQUEST_STATS(X)                                                            \
  X(commands_forwarded, "commands sent to a node (parts of split commands each count)")      \
  X(moved_redirects, "MOVED redirects followed")                                             \
  X(ask_redirects, "ASK redirects followed")                                                 \
  X(tryagain_retries, "TRYAGAIN answers retried")                                            \
  X(node_retries, "commands retried after a node was unreachable or lost")                   \
  X(node_errors, "commands failed because a node was unreachable, lost or slow")             \
  X(script_reloads, "scripts loaded on a node that answered NOSCRIPT, then retried")         \
  X(inflight_reads_retried, "read-only commands resent once after their connection broke")   \
  X(inflight_writes_lost, "writes failed as 'outcome unknown' after their connection broke") \
  X(failover_holds, "commands held while their slot's primary was failed over")              \
  X(failover_hold_timeouts, "held commands failed after failover_wait without a new owner")

struct RequestStats {
  SLOTGATE_REQUEST_STATS(SLOTGATE_DECLARE_COUNTER)
};

}  // namespace slotgate::request
