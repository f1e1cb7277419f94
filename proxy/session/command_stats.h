// Per-worker counts by command name (like Redis's INFO commandstats) and the end-to-end latency
// histogram. Written only by the worker's thread; the metrics collection copies it on that thread.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "common/histogram.h"
#include "proxy/command/command_spec.h"

namespace slotgate::session {

struct CommandCounters {
  uint64_t calls = 0;
  uint64_t errors = 0;  // error replies, the node's or the proxy's
  uint64_t usec = 0;    // end to end, summed
};

class CommandStats {
 public:
  // `latency`: false for time spent blocked (BLPOP, WAIT), kept out of the histogram.
  void record(const command::CommandSpec& spec, uint64_t micros, bool error, bool latency = true) {
    CommandCounters& c = countersFor(spec);
    ++c.calls;
    c.errors += error ? 1 : 0;
    c.usec += micros;
    if (latency) latency_.record(micros);
  }
  // Counters by command name ("get", "config|get").
  std::unordered_map<std::string, CommandCounters> byName() const;
  const common::Histogram& latency() const { return latency_; }

 private:
  struct Named {
    std::string name;
    CommandCounters counters;
  };
  CommandCounters& countersFor(const command::CommandSpec& spec);

  // Keyed by the spec's name pointer (the table's rows live forever); a learned command's name
  // may be freed and its address reused, so a hit is checked against the stored name.
  std::unordered_map<const char*, Named> by_pointer_;
  std::unordered_map<std::string, CommandCounters> by_string_;
  common::Histogram latency_;
};

}  // namespace slotgate::session
