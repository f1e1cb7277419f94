// Settings as text: plain numbers, booleans, byte sizes and addresses parsed and printed the way the
// configuration file, SLOTGATE CONFIG and the messages write them. Internal to the config library;
// parseAddress() and isLoopbackHost() are public (config_loader.h, config.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace slotgate::config::detail {

inline constexpr uint64_t kKiB = 1024;
inline constexpr uint64_t kMiB = 1024 * kKiB;
inline constexpr uint64_t kGiB = 1024 * kMiB;

// Plain decimal only: no sign, no spaces, no float, no hex, no trailing junk.
std::optional<uint64_t> parseUnsigned(std::string_view text);

// YAML 1.1's spellings of a boolean, any case.
std::optional<bool> parseBool(std::string_view text);

// A byte count as redis.conf writes it: "1048576", "64kb", "512MB", "1g" (all units 1024-based).
std::optional<uint64_t> parseSize(std::string_view text);

// The largest exact unit: 1073741824 -> "1gb", 65536 -> "64kb", 1000 -> "1000".
std::string formatSize(uint64_t bytes);

// host:port, with an IPv6 host in brackets.
std::string formatAddress(const Address& address);

// `text` in double quotes for a message, cut after a few dozen characters.
std::string quote(std::string_view text);

// A host with ':' must be a real IPv6 address (an optional %zone aside), so that "::1" without a
// port is not misread as host ":" port 1.
bool isIpv6(std::string_view host);

// A non-empty host and a non-zero port: what parseAddress() would have accepted.
bool validAddress(const Address& address);

// Permission bits written in octal as in redis.conf's unixsocketperm: "0660", "660", "0o660";
// nothing above 0777.
std::optional<unsigned> parseFileMode(std::string_view text);
// "0660".
std::string formatFileMode(unsigned mode);

// What is wrong with a unix socket path (empty: nothing): the kernel takes at most 107 bytes.
std::vector<std::string> unixSocketPathProblems(const std::string& path);

// Why `path` cannot be read as a file (or a directory): "cannot read /x: No such file or
// directory". Empty when it can.
std::string fileProblem(const std::string& path);
std::string directoryProblem(const std::string& path);

// Optimal string alignment distance: edits, counting a swap of neighbours as one typo.
size_t editDistance(std::string_view a, std::string_view b);

}  // namespace slotgate::config::detail
