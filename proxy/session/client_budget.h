// What all workers' clients share: the count of connected clients (max_clients) and the bytes of
// requests and replies buffered for them (maxmemory). Thread-safe; each worker admits and releases
// its own clients and reports its own buffered bytes.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace slotgate::session {

class ClientBudget {
 public:
  // 0 for `maxmemory` means no memory bound.
  ClientBudget(size_t max_clients, size_t maxmemory) : max_clients_(max_clients), maxmemory_(maxmemory) {}

  // Takes a client place; false when `max_clients` are connected already.
  bool tryAdmit() {
    size_t now = clients_.load(std::memory_order_relaxed);
    while (now < max_clients_) {
      if (clients_.compare_exchange_weak(now, now + 1, std::memory_order_relaxed)) return true;
    }
    return false;
  }
  void release() { clients_.fetch_sub(1, std::memory_order_relaxed); }
  size_t clients() const { return clients_.load(std::memory_order_relaxed); }

  // A worker reports the change in what its clients hold.
  void addBuffered(int64_t delta) { buffered_.fetch_add(delta, std::memory_order_relaxed); }
  int64_t buffered() const { return buffered_.load(std::memory_order_relaxed); }
  bool overMemory() const { return maxmemory_ != 0 && buffered() > static_cast<int64_t>(maxmemory_); }
  size_t maxmemory() const { return maxmemory_; }

 private:
  const size_t max_clients_;
  const size_t maxmemory_;
  std::atomic<size_t> clients_{0};
  std::atomic<int64_t> buffered_{0};
};

}  // namespace slotgate::session
