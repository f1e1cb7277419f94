// The one answer to "when do we try again, and how often": the backoff curve, the redirect budget,
// how long to wait for a slot's owner during a failover and how often to look for it meanwhile.
// Requests, exclusive leases, resubscription, a node connection's reconnects and the cluster-bus
// observer's reconnects all use it, so there is exactly one curve to tune.
#pragma once

#include <cstdint>

namespace slotgate::common {

struct RetryPolicy {
  unsigned max_redirects = 5;         // redirects and counted retries one request may follow
  uint64_t failover_wait_ms = 10000;  // longest a request waits for its slot's owner to come back
  uint64_t owner_poll_ms = 250;       // longest pause between looks for a slot's new owner

  // A node whose connection just broke may still accept a connection or two while its process is
  // torn down: sends to it are refused this long first (they wait and go elsewhere).
  static constexpr uint64_t kPauseAfterLossMs = 100;
  // The longest wait of the curve.
  static constexpr uint64_t kMaxBackoffMs = 2000;
  // Something about to happen on a node (a blocked command reaching it, so CLIENT UNBLOCK can name
  // it) is asked about again this often, this many times: a short settle, not a backoff.
  static constexpr uint64_t kSettlePollMs = 10;
  static constexpr unsigned kSettlePolls = 10;

  // The n-th wait (n >= 1): 100, 200, 400, 800, 1600, 2000, 2000 ... ms.
  static uint64_t backoffMs(unsigned attempt);
  // The n-th look for an owner while waiting out a failover: the backoff, capped at owner_poll_ms.
  uint64_t ownerPollMs(unsigned attempt) const;
  // Whether a wait that began at `started_ms` may go on at `now_ms`.
  bool mayWait(uint64_t started_ms, uint64_t now_ms) const { return now_ms - started_ms < failover_wait_ms; }
};

}  // namespace slotgate::common
