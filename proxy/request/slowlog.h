// SLOWLOG for the proxy: commands whose end-to-end time (from the proxy reading them to their
// reply being ready) reached the threshold, each with the part of that time spent waiting for the
// nodes, so a slow proxy and a slow node can be told apart. Shared by every worker; only slow
// commands take its lock, so the fast path only reads an atomic threshold.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/command/command_spec.h"

namespace slotgate::request {

class Slowlog {
 public:
  // Like Redis: at most 32 arguments, each cut to 128 bytes, with a note of what was left out.
  static constexpr size_t kMaxArgs = 32;
  static constexpr size_t kMaxArgLen = 128;

  struct Entry {
    uint64_t id = 0;
    int64_t unix_time = 0;
    uint64_t duration_us = 0;  // end to end, in the proxy
    uint64_t backend_us = 0;   // of which waiting for nodes (the slowest part, for split commands)
    std::vector<std::string> args;
    std::string client;  // ip:port
    std::string client_name;
  };

  void configure(uint64_t slower_than_us, size_t max_len);
  // Worth calling add()? One relaxed load.
  bool isSlow(uint64_t duration_us) const {
    return duration_us >= slower_than_us_.load(std::memory_order_relaxed) &&
           max_len_.load(std::memory_order_relaxed) > 0;
  }
  void add(uint64_t duration_us, uint64_t backend_us, std::span<const std::string_view> argv,
           std::string_view client, std::string_view client_name);

  // SLOWLOG GET [count] / LEN / RESET / HELP as RESP replies: `which` is the subcommand's
  // handler (kSlowlogGet, ...); `argv` starts with "SLOWLOG".
  std::string reply(command::Handler which, std::span<const std::string_view> argv);

  std::vector<Entry> newest(size_t count) const;
  size_t size() const;
  void reset();

 private:
  std::atomic<uint64_t> slower_than_us_{10000};
  std::atomic<size_t> max_len_{128};
  mutable std::mutex mutex_;
  std::deque<Entry> entries_;  // newest first
  uint64_t next_id_ = 0;
};

}  // namespace slotgate::request
