// Gathers the workers' numbers for one admin answer (/metrics, /readyz): asks every worker on its
// own thread, sums the answers on the control loop, and hands the sum on once every worker
// answered or the time is up, whichever comes first (a stuck worker cannot stall a scrape).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "common/uv/event_loop.h"
#include "proxy/admin/metrics.h"

namespace slotgate::admin {

class MetricsCollector {
 public:
  // Asks one worker for its numbers; `done` may be called on any thread.
  using Source = std::function<void(std::function<void(WorkerMetrics)> done)>;
  using Done = std::function<void(const WorkerMetrics& merged)>;

  MetricsCollector(common::uv::EventLoop& loop, uint64_t timeout_ms) : loop_(loop), timeout_ms_(timeout_ms) {}

  // Before the first collect().
  void addSource(Source source) { sources_.push_back(std::move(source)); }
  // Control loop only: `done` runs once, on the control loop.
  void collect(Done done);

 private:
  common::uv::EventLoop& loop_;
  uint64_t timeout_ms_;
  std::vector<Source> sources_;
};

}  // namespace slotgate::admin
