// The shape of one row of the command table. The rows themselves are generated from a real
// redis-server's COMMAND INFO / COMMAND DOCS by tools/gen_command_table.py into
// command_table_data.cc; the proxy's own handling (Policy, Handler, Merge, ProxyFlag bits) is
// assigned by that script too, so one table drives classification, routing, dispatch and merging.
// Code outside command/ never compares a command's name: it switches on these fields.
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
  int16_t index;        // kIndex: argv position (argv[0] is the command name)
  const char* keyword;  // kKeyword: keyword to look for (upper case), e.g. "STREAMS"
  int16_t startfrom;    // kKeyword: where to start looking; negative counts from the end, backwards
  FindKeys find;
  int16_t lastkey;    // kRange: last key, relative to the begin position; -1 = last argument
  int16_t keystep;    // kRange and kKeynum: distance between keys
  int16_t limit;      // kRange with lastkey < 0: only 1/limit of the remaining args
  int16_t keynumidx;  // kKeynum: position of the key count, relative to the begin position
  int16_t firstkey;   // kKeynum: first key, relative to the begin position
  uint32_t flags;     // KeyFlag bits
};

// Where the proxy sends the command: the routing class of its Handler (the generator derives one
// from the other; route::plan switches on this).
enum class Policy : uint8_t {
  kForward,       // keyed: to the owner of the keys' slot (all keys must share one slot);
                  // keyless: to any primary (the command's answer does not depend on which)
  kLocal,         // answered by the proxy itself (PING, ECHO, QUIT, SELECT, CLUSTER KEYSLOT, ...)
  kSplit,         // multi-key command split by slot and merged (MGET, MSET, DEL, ...)
  kAllPrimaries,  // keyspace-wide: fanned out to every primary, merged by `merge`
                  // (KEYS, DBSIZE, FLUSHALL, SCRIPT LOAD, INFO, ...)
  kAllNodes,      // every node, replicas too, all must succeed (CONFIG SET, CONFIG RESETSTAT)
  kSlotArg,       // to the owner of the slot given as the command's third argument
                  // (CLUSTER COUNTKEYSINSLOT / GETKEYSINSLOT)
  kCursor,        // SCAN: one primary at a time, the cursor says which
  kStateful,      // needs a connection of its own (MULTI, WATCH, SUBSCRIBE, blocking commands, ...)
  kUnsupported,   // meaningless through a proxy (CLUSTER topology changes, MONITOR, ...)
};

// What slotgate does with the command: one value per distinct piece of proxy code. Every row names
// exactly one; each layer dispatches with one switch on it (route: Policy; executor, local
// replies, the session's state: Handler). The comment says the Policy each one comes with.
enum class Handler : uint8_t {
  // Routed by Policy, nothing more.
  kForward,       // kForward
  kSplit,         // kSplit, merged by `merge`
  kAllPrimaries,  // kAllPrimaries, merged by `merge`
  kAllNodes,      // kAllNodes, merged by `merge` (all succeeded)
  kSlotArg,       // kSlotArg
  kCursor,        // kCursor (SCAN)
  kUnsupported,   // kUnsupported: refused with an error naming the command

  // Routed by Policy, with something more the executor does.
  kPublish,              // kForward; always from the one pub/sub node, so messages keep order
  kConfigGet,            // kForward (keyless: any primary); the nodes' credentials blanked
  kSlowlogGet,           // kForward; slotgate's own slow log answers when it keeps one
  kSlowlogLen,           //   "
  kSlowlogReset,         //   "
  kSlowlogHelp,          //   "
  kEval,                 // kForward; the script body is remembered (EVAL, EVAL_RO)
  kEvalsha,              // kForward; on NOSCRIPT the remembered body is loaded, then a retry
                         // (EVALSHA, EVALSHA_RO)
  kScriptLoad,           // kAllPrimaries; the script body is remembered
  kScriptFlush,          // kAllPrimaries; the remembered bodies are forgotten
  kScriptExists,         // kAllPrimaries (logical AND); 1 as well for a script slotgate remembers
                         // (it loads it wherever a node lacks it)
  kPubsubIntrospection,  // kAllPrimaries, but sent to every node, replicas too (a PUBLISH
                         // reaches them all): PUBSUB CHANNELS / NUMSUB / NUMPAT / SHARD...

  // Answered by the proxy itself (Policy::kLocal; request/local_reply.h).
  kPing,
  kEcho,
  kQuit,
  kSelect,
  kReadMode,  // READONLY, READWRITE: accepted, reads go where slotgate's setting says
  kClusterKeyslot,
  kClusterInfo,
  kClusterSlots,
  kClusterShards,
  kClusterNodes,
  kClusterMyid,
  kSlotgateHelp,  // slotgate's own commands (proxy_commands.h)
  kSlotgateReload,
  kSlotgateTopology,
  kSlotgateConfig,  // SLOTGATE CONFIG GET|SET (argv[2] says which)

  // The client connection's state, kept by the session (Policy::kStateful).
  kMulti,
  kExec,
  kDiscard,
  kWatch,
  kUnwatch,
  kBlocking,            // a blocking command (Redis flag "blocking"): on a connection of its own
  kBlockingStreamRead,  // XREAD, XREADGROUP: block only when given BLOCK, else forwarded
  kWait,
  kSubscribe,
  kPsubscribe,
  kSsubscribe,
  kUnsubscribe,
  kPunsubscribe,
  kSunsubscribe,
  kAuth,
  kHello,
  kReset,
  kClientSetname,  // CLIENT subcommands the session answers
  kClientGetname,
  kClientId,
  kClientInfo,
  kClientList,
  kClientKill,
  kClientNoEvict,
  kClientNoTouch,  // newer than the table: see findProxySubcommand (proxy_commands.h)
  kClientSetinfo,  //   "
  kClientReply,    // ON|OFF|SKIP: the session's reply queue drops what is silenced
  kClientGetredir,
  kClientHelp,         // forwarded to any primary
  kClientUnblock,      // slotgate's id -> the node-side id of that client's exclusive link
  kClientUnsupported,  // the other CLIENT subcommands: refused, naming the subcommand
};

// How the replies of a split or fanned-out command become one: from Redis's response tip where it
// has one, else the proxy's own choice (request/merge.h implements each).
enum class Merge : uint8_t {
  kNone,          // not merged: one node answers (or, split/fan-out: "not yet supported")
  kArrayByIndex,  // MGET: each part's elements go back to their keys' places
  kAllSucceeded,  // MSET, FLUSHALL, SCRIPT LOAD, CONFIG SET: the first part's reply
  kOneSucceeded,  // the first success, else the first error
  kKillScript,    // SCRIPT KILL, FUNCTION KILL: +OK if any node stopped a script, else an error
                  // other than NOTBUSY (UNKILLABLE first), else NOTBUSY
  kSum,           // DEL, EXISTS, DBSIZE, PUBSUB NUMPAT: integer sum
  kMin,
  kMax,
  kLogicalAnd,  // SCRIPT EXISTS: element-wise over arrays of 0/1
  kLogicalOr,
  kConcat,         // KEYS: arrays concatenated
  kRandomNonNull,  // RANDOMKEY: a random part that is not nil
  kInfo,           // INFO: sections merged as one server's (request/info_merge.h)
  kUnion,          // PUBSUB CHANNELS / SHARDCHANNELS: arrays merged without duplicates
  kSumByName,      // PUBSUB NUMSUB / SHARDNUMSUB: [name, count, ...] with counts summed per name
};

// The proxy's own attributes of a command (not Redis's), one bit each; set by the generator.
enum ProxyFlag : uint16_t {
  kProxyNoAuth = 1u << 0,        // may run before the client authenticates (AUTH, HELLO, QUIT, PING)
  kProxyAdminOnly = 1u << 1,     // only for admin users: Redis's "admin" flag, plus what empties
                                 // or scans the keyspace or kills clients/scripts (FLUSHALL, KEYS,
                                 // CLIENT KILL, SCRIPT FLUSH, FUNCTION LOAD, SLOTGATE CONFIG, ...)
  kProxyOverBudget = 1u << 2,    // still answered when slotgate is over its memory budget (INFO),
                                 // besides the local commands
  kProxySubscribedOk = 1u << 3,  // allowed in a RESP2 subscribed context: the (un)subscribe
                                 // commands, PING, QUIT, RESET
  kProxyNotQueued = 1u << 4,     // runs at once inside MULTI instead of being queued: MULTI,
                                 // EXEC, DISCARD, WATCH, QUIT, RESET
  kProxyRunsAlone = 1u << 5,     // waits for the replies before it: EXEC, WATCH, WAIT, RESET,
                                 // the (un)subscribe commands, blocking commands (conditional
                                 // cases, e.g. UNWATCH while watching, stay the session's rule)
  kProxyWaits = 1u << 6,         // its time is spent waiting, not latency: blocking commands,
                                 // WAIT (counted, kept out of the histogram and SLOWLOG)
  kProxySlow = 1u << 7,          // may run long and lets the node serve others meanwhile (EVAL,
                                 // EVALSHA, FCALL and _RO forms): sent on the node's script lane,
                                 // never ahead of the shared link's traffic
  kProxyOnePrimary = 1u << 8,    // keyless: to the owner of slot 0, the same node in every worker
                                 // (keyless scripts, FUNCTION STATS), not round robin
  kProxyIdleLink = 1u << 9,      // Redis serves it during a busy script (allow_busy): sent on a
                                 // link with nothing in flight (SCRIPT KILL, FUNCTION KILL/STATS)
};

// Redis's own command tips (COMMAND INFO "tips").
enum class RequestTip : uint8_t { kDefault, kAllNodes, kAllShards, kMultiShard, kSpecial };
enum class ResponseTip : uint8_t {
  kDefault,
  kOneSucceeded,
  kAllSucceeded,
  kAggLogicalAnd,
  kAggLogicalOr,
  kAggMin,
  kAggMax,
  kAggSum,
  kSpecial
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
  bool nondeterministic;  // tip "nondeterministic_output"
  Policy policy;          // where it goes (route::plan)
  Handler handler;        // what slotgate does with it
  Merge merge;            // how split or fanned-out replies become one
  uint16_t proxy_flags;   // ProxyFlag bits
};

}  // namespace slotgate::command
