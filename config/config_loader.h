// Reads slotgate's YAML configuration into a Config. The only interface to yaml-cpp; nothing here
// throws. The schema, with every key, default and range, is config/slotgate.example.yaml.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace slotgate::config {

// What a load produced. `config` starts from the defaults in config.h and holds every value that
// parsed and passed its range check; a key with a problem keeps its default. `errors` lists every
// problem found, in document order, each a self-contained line for an operator:
//   slotgate.yaml:7: timeouts.connect_ms: expected an integer from 1 to 600000, got "abc"
struct LoadResult {
  Config config;
  std::vector<std::string> errors;
  bool ok() const { return errors.empty(); }
};

// Reads and loads the file at `path` (messages are prefixed with `path`). An unreadable file gives
// exactly one error naming the path and the reason.
LoadResult loadFile(const std::string& path);

// Loads a YAML document held in memory; `source_name` prefixes every message. An empty document
// (or only comments) yields the defaults. Checks syntax, types, unknown and duplicate keys and each
// value's range, but not whole-config rules such as "at least one seed": the command line may still
// supply those, so callers run validate() after applying their overrides.
LoadResult loadString(std::string_view yaml, std::string_view source_name);

// Parses an address the way Redis and redis-cli write them: "host:port", "[v6addr]:port", or an
// unbracketed "v6addr:port" where the port follows the last ':'. The host must be non-empty and the
// port 1..65535 in plain decimal; anything else (missing port, junk, spaces) gives nullopt.
std::optional<Address> parseAddress(std::string_view text);

// Range and consistency checks on a finished Config (after file and command line). Each problem is
// one message starting with the dotted key, e.g. "seeds: at least one seed is required" or
// "threads: expected an integer from 0 to 256, got 300". Empty means the config is usable.
std::vector<std::string> validate(const Config& config);

// Every setting as (dotted key, value as text), in schema order: what SLOTGATE CONFIG GET shows.
// Addresses print as host:port, seeds comma-separated, sizes and counts in plain decimal.
std::vector<std::pair<std::string, std::string>> settings(const Config& config);

// Whether a reload applies `key` (dotted) to the running proxy; false for settings that need a
// restart (listen, seeds, threads, admin.listen, topology.refresh_interval_ms) and unknown keys.
bool isLive(std::string_view key);

// The dotted keys whose value differs between `running` and `next` but that only a restart
// applies, in schema order.
std::vector<std::string> restartRequired(const Config& running, const Config& next);

// `next` with every setting that needs a restart put back to its value in `running`: what a reload
// actually applies.
Config liveOnly(const Config& next, const Config& running);

// "key=new value" for every setting that differs, in schema order (for the reload log line).
std::vector<std::string> changedSettings(const Config& running, const Config& next);

// `config` with one setting changed, checked like a file's value (SLOTGATE CONFIG SET). The
// key is dotted and case-insensitive; seeds cannot be set this way. Errors as in loadString.
LoadResult setSetting(const Config& config, std::string_view key, std::string_view value);

}  // namespace slotgate::config
