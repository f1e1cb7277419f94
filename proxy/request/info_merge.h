// INFO answered as one standalone server would: the primaries' INFO replies merged section by
// section (counters summed, the server's identity from the first, clients from the proxy itself)
// and a "# Proxy" section about slotgate. Pure: the caller supplies the replies and the numbers.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace slotgate::request {

// The proxy's own numbers, summed over its workers.
struct ProxyInfo {
  std::string version;
  uint64_t uptime_s = 0;
  unsigned threads = 0;
  uint16_t port = 0;
  uint64_t pid = 0;
  uint64_t connected_clients = 0;
  uint64_t parked_clients = 0;  // idle clients parked (included in connected_clients)
  uint64_t total_connections = 0;
  uint64_t total_commands = 0;
  uint64_t commands_forwarded = 0;
  uint64_t moved = 0;
  uint64_t ask = 0;
  uint64_t tryagain = 0;
  uint64_t node_retries = 0;
  uint64_t node_errors = 0;
  size_t nodes = 0;
  size_t primaries = 0;
  int slots_covered = 0;
  // Limits: the configured bound, and how often each one turned a client or command away.
  uint64_t max_clients = 0;
  uint64_t rejected_connections = 0;
  uint64_t denied_connections = 0;
  uint64_t output_limit_disconnects = 0;
  uint64_t idle_disconnects = 0;
  uint64_t oom_rejections = 0;
  int64_t buffered_bytes = 0;  // requests and replies held for clients (limits.maxmemory)
  uint64_t maxmemory = 0;
};

// Something that can tell ProxyInfo at any moment, from any worker.
class ProxyInfoSource {
 public:
  virtual ~ProxyInfoSource() = default;
  virtual ProxyInfo proxyInfo() const = 0;
};

// `replies` are the primaries' INFO replies (RESP bulk strings); `sections` the client's INFO
// arguments (lower-cased or not). Returns the RESP bulk reply.
std::string mergeInfo(std::span<const std::string> replies, std::span<const std::string> sections,
                      const ProxyInfo& proxy);

}  // namespace slotgate::request
