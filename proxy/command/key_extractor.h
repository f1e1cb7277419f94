// Finds the key arguments of a command from its Redis 7 key specs, the way Redis's
// getKeysUsingKeySpecs does, so the proxy hashes exactly the arguments Redis would.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "proxy/command/command_spec.h"

namespace slotgate::command {

enum class KeyError : uint8_t {
  kNone,
  kBadKeyCount,  // a numkeys argument is not an integer, or is negative
  kTooManyKeys,  // a numkeys argument is greater than the arguments that follow it
};

// Appends to `positions` (cleared first) the argv index of every key of the command, in key-spec
// order and, within a spec, in argument order (argv[0] is the command name). For a subcommand,
// pass the subcommand's spec and the whole argv (argv[0] the container name, argv[1] the
// subcommand), as its spec's positions count from the container.
//
// Follows Redis 7.0: index or keyword begin search (keyword matched case-insensitively; the
// search range and direction as Redis's), then range (lastkey >= 0, lastkey < 0 from the end, or
// 1/limit of the remaining arguments) or keynum find. Differences, all deliberate:
//  - a spec Redis cannot follow (begin or find "unknown", e.g. SORT's BY/GET/STORE) contributes
//    no keys instead of sending Redis to a per-command fallback; INCOMPLETE specs contribute
//    the keys they do find (e.g. MIGRATE ... KEYS k1 k2);
//  - "not_key" specs (shard channels of SPUBLISH/SSUBSCRIBE/SUNSUBSCRIBE) are followed like keys,
//    since Redis Cluster routes them by slot;
//  - a spec whose keys fall outside argv (wrong arity, a missing keyword argument) contributes no
//    keys and is not an error: Redis itself will reply with its arity or syntax error;
//  - numkeys 0 is no keys, not an error (EVAL s 0).
// On error `positions` is empty. Allocates only when `positions` must grow.
KeyError extractKeys(const CommandSpec& spec, std::span<const std::string_view> argv,
                     std::vector<uint32_t>& positions);

}  // namespace slotgate::command
