// Pure functions that combine the replies of a split or fanned-out command into the one reply a
// standalone Redis would give, as the command's row says (its Merge: Redis's response tip, as
// Redis's own cluster clients use it, or the proxy's own rule). No part reply given to merge() is
// an error unless the kind tolerates errors.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "proxy/command/command_spec.h"

namespace slotgate::request {

// The merge of each command is a column of the command table (command::Merge, chosen by the
// generator from the response tip or the proxy's own rule).
using command::Merge;

// CONFIG GET's reply with the values of the nodes' credentials (requirepass, masterauth,
// masteruser) blanked: they are slotgate's backend secrets, never the client's to see.
std::string hideConfigSecrets(std::string_view reply);

// For Merge::kArrayByIndex: where each element of each part goes in the result.
struct ArrayLayout {
  size_t total = 0;
  std::vector<std::vector<uint32_t>> positions;  // positions[part][i] = result index
};

// Whether the merge takes the parts' error replies as parts (else one failed part fails the whole).
inline bool toleratesErrors(Merge kind) { return kind == Merge::kOneSucceeded || kind == Merge::kKillScript; }

// Merges the parts; a part with an unexpected shape yields an error reply naming the command.
// `kind` is never Merge::kNone.
std::string merge(Merge kind, std::span<const std::string> parts, const ArrayLayout* layout, std::mt19937* rng);

}  // namespace slotgate::request
