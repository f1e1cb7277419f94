#include "common/retry_policy.h"

#include <algorithm>

namespace slotgate::common {
namespace {

constexpr uint64_t kBaseMs = 50;

}  // namespace

uint64_t RetryPolicy::backoffMs(unsigned attempt) {
  return std::min<uint64_t>(kBaseMs << std::min(attempt, 6u), kMaxBackoffMs);
}

uint64_t RetryPolicy::ownerPollMs(unsigned attempt) const { return std::min(backoffMs(attempt), owner_poll_ms); }

}  // namespace slotgate::common
