// Counters written by one thread (a worker) and read by any (INFO, metrics). Each component
// declares its counters in one X-macro list; a worker owns one instance of each component's set,
// and readers sum the instances.
#pragma once

#include <atomic>
#include <cstdint>

namespace slotgate::common {

class Counter {
 public:
  // Only the owning thread writes, so a relaxed load+store is enough and costs no locked op.
  void add(uint64_t n = 1) { value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void sub(uint64_t n = 1) { value_.store(value_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed); }
  uint64_t get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

}  // namespace slotgate::common

// Expands a stats list into Counter members.
#define SLOTGATE_DECLARE_COUNTER(name, help) ::slotgate::common::Counter name;
