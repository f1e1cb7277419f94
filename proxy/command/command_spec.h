// The shape of one row of the command table. The rows themselves are generated from a real
// redis-server's COMMAND INFO / COMMAND DOCS by tools/gen_command_table.py into
// command_table_data.cc; the proxy's own handling (Policy) is assigned by that script too, so one
// table drives classification, routing and (later) splitting and merging.
#pragma once

#include <cstdint>

namespace slotgate::command {

// Redis command flags (COMMAND INFO), one bit each.
enum Flag : uint32_t {
  kFlagWrite = 1u << 0,
  kFlagReadonly = 1u << 1,
  kFlagDenyOom = 1u << 2,
  kFlagAdmin = 1u << 3,
  kFlagPubsub = 1u << 4,
  kFlagNoscript = 1u << 5,
  kFlagBlocking = 1u << 6,
  kFlagLoading = 1u << 7,
  kFlagStale = 1u << 8,
  kFlagSkipMonitor = 1u << 9,
  kFlagSkipSlowlog = 1u << 10,
  kFlagFast = 1u << 11,
  kFlagNoAuth = 1u << 12,
  kFlagMayReplicate = 1u << 13,
  kFlagNoMulti = 1u << 14,
  kFlagMovableKeys = 1u << 15,
  kFlagAllowBusy = 1u << 16,
  kFlagNoMandatoryKeys = 1u << 17,
};

// Key-spec flags (only the ones the proxy cares about).
enum KeyFlag : uint32_t {
  kKeyRO = 1u << 0,
  kKeyRW = 1u << 1,
  kKeyOW = 1u << 2,
  kKeyRM = 1u << 3,
  kKeyIncomplete = 1u << 4,  // the spec may miss keys (e.g. SORT ... STORE)
  kKeyVariableFlags = 1u << 5,
};

enum class BeginSearch : uint8_t { kIndex, kKeyword, kUnknown };
enum class FindKeys : uint8_t { kRange, kKeynum, kUnknown };

// One Redis 7 key specification: where the search for keys begins, then how keys are found.
struct KeySpec {
  BeginSearch begin;
  int16_t index;          // kIndex: argv position (argv[0] is the command name)
  const char* keyword;    // kKeyword: keyword to look for (upper case), e.g. "STREAMS"
  int16_t startfrom;      // kKeyword: where to start looking; negative counts from the end, backwards
  FindKeys find;
  int16_t lastkey;        // kRange: last key, relative to the begin position; -1 = last argument
  int16_t keystep;        // kRange and kKeynum: distance between keys
  int16_t limit;          // kRange with lastkey < 0: only 1/limit of the remaining args
  int16_t keynumidx;      // kKeynum: position of the key count, relative to the begin position
  int16_t firstkey;       // kKeynum: first key, relative to the begin position
  uint32_t flags;         // KeyFlag bits
};

// What the proxy does with the command.
enum class Policy : uint8_t {
  kForward,      // keyed: to the owner of the keys' slot (all keys must share one slot);
                 // keyless: to any primary (the command's answer does not depend on which)
  kLocal,        // answered by the proxy itself (PING, ECHO, QUIT, SELECT, CLUSTER KEYSLOT, ...)
  kSplit,        // multi-key command split by slot and merged (MGET, MSET, DEL, ...)
  kAllPrimaries, // keyspace-wide: fanned out to every primary, merged by the response tip
                 // (KEYS, DBSIZE, FLUSHALL, SCRIPT LOAD, INFO, ...)
  kAllNodes,     // every node, replicas too, all must succeed (CONFIG SET, CONFIG RESETSTAT)
  kSlotArg,      // to the owner of the slot given as the command's third argument
                 // (CLUSTER COUNTKEYSINSLOT / GETKEYSINSLOT)
  kCursor,       // SCAN: one primary at a time, the cursor says which
  kStateful,     // needs a connection of its own (MULTI, WATCH, SUBSCRIBE, blocking commands, ...)
  kUnsupported,  // meaningless through a proxy (CLUSTER topology changes, MONITOR, ...)
};

// Redis's own command tips (COMMAND INFO "tips").
enum class RequestTip : uint8_t { kDefault, kAllNodes, kAllShards, kMultiShard, kSpecial };
enum class ResponseTip : uint8_t {
  kDefault, kOneSucceeded, kAllSucceeded, kAggLogicalAnd, kAggLogicalOr, kAggMin, kAggMax,
  kAggSum, kSpecial
};

struct CommandSpec {
  const char* name;          // lower case; a subcommand is "object|encoding"
  const char* group;         // COMMAND DOCS group, e.g. "string", "server"
  int32_t arity;             // Redis convention: >0 exact argc, <0 at least -arity
  uint32_t flags;            // Flag bits
  const KeySpec* key_specs;  // may be nullptr when key_spec_count == 0
  uint8_t key_spec_count;
  const CommandSpec* subcommands;  // container commands (OBJECT, CLUSTER, ...); else nullptr
  uint16_t subcommand_count;
  RequestTip request_tip;
  ResponseTip response_tip;
  bool nondeterministic;     // tip "nondeterministic_output"
  Policy policy;
};

}  // namespace slotgate::command
