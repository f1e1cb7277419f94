// Pure functions that combine the replies of a split or fanned-out command into the one reply a
// standalone Redis would give, chosen from the command's response tip (as Redis's own cluster
// clients do). No part reply given to merge() is an error unless the kind tolerates errors.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "proxy/command/command_spec.h"

namespace slotgate::request {

enum class MergeKind : uint8_t {
  kArrayByIndex,   // MGET: each part's elements go back to their keys' places
  kAllSucceeded,   // MSET, FLUSHALL, SCRIPT LOAD: the first part's reply
  kOneSucceeded,   // SCRIPT KILL: the first success, else the first error
  kSum,            // DEL, EXISTS, DBSIZE: integer sum
  kMin,
  kMax,
  kLogicalAnd,     // SCRIPT EXISTS: element-wise over arrays of 0/1
  kLogicalOr,
  kConcat,         // KEYS: arrays concatenated
  kRandomNonNull,  // RANDOMKEY: a random part that is not nil
  kInfo,           // INFO: sections merged as one server's (see info_merge.h)
  kUnion,          // PUBSUB CHANNELS / SHARDCHANNELS: arrays merged without duplicates
  kSumByName,      // PUBSUB NUMSUB / SHARDNUMSUB: [name, count, ...] with counts summed per name
};

// CONFIG GET's reply with the values of the nodes' credentials (requirepass, masterauth,
// masteruser) blanked: they are slotgate's backend secrets, never the client's to see.
std::string hideConfigSecrets(std::string_view reply);

// The merge for a split (`split` true) or fanned-out command; nullopt when the proxy has none.
std::optional<MergeKind> mergeKindFor(const command::CommandSpec& spec, bool split);

// For kArrayByIndex: where each element of each part goes in the result.
struct ArrayLayout {
  size_t total = 0;
  std::vector<std::vector<uint32_t>> positions;  // positions[part][i] = result index
};

// Merges the parts; a part with an unexpected shape yields an error reply naming the command.
std::string merge(MergeKind kind, std::span<const std::string> parts, const ArrayLayout* layout,
                  std::mt19937* rng);

}  // namespace slotgate::request
