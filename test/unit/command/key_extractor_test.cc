#include "proxy/command/key_extractor.h"

#include <catch2/catch.hpp>

#include <initializer_list>
#include <string_view>
#include <vector>

#include "proxy/command/command_table.h"

// Unless a case says otherwise, every expected position list below was checked against
// redis-server 7.0.15's COMMAND GETKEYS for the same arguments. Where Redis's answer differs
// (it falls back to per-command code for specs it cannot follow), the case says what Redis
// answers and why ours is the spec-only answer.

namespace slotgate::command {
namespace {

using Positions = std::vector<uint32_t>;

struct Extracted {
  KeyError error;
  Positions positions;
};

// Looks the command up like the proxy does (container -> subcommand) and extracts its keys.
Extracted extract(std::initializer_list<std::string_view> args) {
  std::vector<std::string_view> argv(args);
  const CommandSpec* spec = findCommand(argv.at(0));
  REQUIRE(spec != nullptr);
  if (spec->subcommand_count > 0) {
    REQUIRE(argv.size() > 1);
    spec = findSubcommand(*spec, argv[1]);
    REQUIRE(spec != nullptr);
  }
  Extracted out{KeyError::kNone, {99, 98}};  // stale content must be cleared
  out.error = extractKeys(*spec, argv, out.positions);
  return out;
}

Positions keys(std::initializer_list<std::string_view> args) {
  Extracted out = extract(args);
  CHECK(out.error == KeyError::kNone);
  return out.positions;
}

KeyError error(std::initializer_list<std::string_view> args) {
  Extracted out = extract(args);
  CHECK(out.positions.empty());
  return out.error;
}

}  // namespace

TEST_CASE("single-key and fixed-position commands", "[key_extractor]") {
  CHECK(keys({"GET", "k"}) == Positions{1});
  CHECK(keys({"SET", "k", "v", "EX", "10"}) == Positions{1});
  CHECK(keys({"ZADD", "k", "1", "m"}) == Positions{1});
  CHECK(keys({"RENAME", "a", "b"}) == Positions{1, 2});
  CHECK(keys({"LMOVE", "a", "b", "LEFT", "RIGHT"}) == Positions{1, 2});
  CHECK(keys({"PING"}).empty());
  CHECK(keys({"DBSIZE"}).empty());
}

TEST_CASE("range specs: to the end, with a step, and before a trailing argument", "[key_extractor]") {
  CHECK(keys({"MSET", "a", "1", "b", "2", "c", "3"}) == Positions{1, 3, 5});
  CHECK(keys({"MGET", "a", "b", "c"}) == Positions{1, 2, 3});
  CHECK(keys({"DEL", "a", "b"}) == Positions{1, 2});
  CHECK(keys({"BITOP", "AND", "dest", "a", "b"}) == Positions{2, 3, 4});
  CHECK(keys({"BLPOP", "k1", "k2", "0"}) == Positions{1, 2});  // lastkey -2: not the timeout
  // MSET with a missing value: Redis's spec still yields a and b (the command then fails).
  CHECK(keys({"MSET", "a", "1", "b"}) == Positions{1, 3});
}

TEST_CASE("range specs whose keys fall outside argv contribute nothing", "[key_extractor]") {
  // Not checked against GETKEYS (which enforces arity first): a malformed command gets no keys,
  // so Redis itself replies with the arity error.
  CHECK(keys({"BLPOP", "k"}).empty());
  CHECK(keys({"GET"}).empty());
  // PFMERGE dest (no sources) is legal; Redis's strict spec walk rejects the empty second spec
  // and GETKEYS says "Invalid arguments", but cluster routing (legacy range) uses dest: so do we.
  CHECK(keys({"PFMERGE", "dest"}) == Positions{1});
  CHECK(keys({"PFMERGE", "dest", "a", "b"}) == Positions{1, 2, 3});
}

TEST_CASE("keynum specs: EVAL, EVALSHA, FCALL", "[key_extractor]") {
  CHECK(keys({"EVAL", "return 1", "0"}).empty());
  CHECK(keys({"EVAL", "return 1", "0", "arg"}).empty());
  CHECK(keys({"EVAL", "return 1", "2", "a", "b", "arg"}) == Positions{3, 4});
  CHECK(keys({"EVAL", "return 1", "2", "a", "b"}) == Positions{3, 4});
  CHECK(keys({"EVALSHA", "abc", "1", "k", "arg"}) == Positions{3});
  CHECK(keys({"EVAL_RO", "return 1", "1", "k"}) == Positions{3});
  CHECK(keys({"FCALL", "f", "2", "a", "b"}) == Positions{3, 4});
  CHECK(keys({"FCALL_RO", "f", "1", "a", "x"}) == Positions{3});

  // Errors. GETKEYS answers [] for these (its fallback gives up); EVAL itself replies
  // "Number of keys can't be greater than number of args", "... can't be negative" and
  // "value is not an integer or out of range" (checked on the server).
  CHECK(error({"EVAL", "return 1", "3", "a", "b"}) == KeyError::kTooManyKeys);
  CHECK(error({"EVAL", "return 1", "1"}) == KeyError::kTooManyKeys);
  CHECK(error({"EVALSHA", "abc", "2", "a"}) == KeyError::kTooManyKeys);
  CHECK(error({"FCALL", "f", "5", "a"}) == KeyError::kTooManyKeys);
  CHECK(error({"EVAL", "return 1", "-1"}) == KeyError::kBadKeyCount);
  CHECK(error({"EVAL", "return 1", "-1", "a"}) == KeyError::kBadKeyCount);
  CHECK(error({"EVAL", "return 1", "x"}) == KeyError::kBadKeyCount);
  CHECK(error({"FCALL", "f", "1.0", "a"}) == KeyError::kBadKeyCount);
  CHECK(error({"EVALSHA", "abc", "", "a"}) == KeyError::kBadKeyCount);
  // Redis's string2ll rejects leading zeros, '+', spaces and overflow; EVAL then says "value is
  // not an integer" (checked on the server for "01"; GETKEYS' atoi fallback would answer [a]).
  CHECK(error({"EVAL", "return 1", "01", "a"}) == KeyError::kBadKeyCount);
  CHECK(error({"EVAL", "return 1", "-0"}) == KeyError::kBadKeyCount);
  CHECK(error({"EVAL", "return 1", "+1", "a"}) == KeyError::kBadKeyCount);
  CHECK(error({"EVAL", "return 1", " 1", "a"}) == KeyError::kBadKeyCount);
  CHECK(error({"EVAL", "return 1", "99999999999999999999", "a"}) == KeyError::kBadKeyCount);
  // 2^32+1: Redis's spec walk truncates it to 1 and GETKEYS answers [a]; EVAL itself then says
  // "Number of keys can't be greater than number of args", which is what we report.
  CHECK(error({"EVAL", "return 1", "4294967297", "a"}) == KeyError::kTooManyKeys);
}

TEST_CASE("keynum specs after a fixed key: ZUNIONSTORE and friends", "[key_extractor]") {
  CHECK(keys({"ZUNIONSTORE", "dest", "2", "a", "b", "WEIGHTS", "1", "2"}) == Positions{1, 3, 4});
  CHECK(keys({"ZINTERSTORE", "dest", "1", "a"}) == Positions{1, 3});
  CHECK(keys({"ZDIFF", "2", "a", "b", "WITHSCORES"}) == Positions{2, 3});
  CHECK(error({"ZUNIONSTORE", "dest", "3", "a", "b"}) == KeyError::kTooManyKeys);
  CHECK(error({"ZUNIONSTORE", "dest", "x", "a"}) == KeyError::kBadKeyCount);
  // numkeys 0: no keys from that spec, dest still routes (Redis replies "at least 1 input key is
  // needed"; GETKEYS says "Invalid arguments").
  CHECK(keys({"ZUNIONSTORE", "dest", "0", "a"}) == Positions{1});
}

TEST_CASE("keynum specs: LMPOP, BLMPOP, SINTERCARD", "[key_extractor]") {
  CHECK(keys({"LMPOP", "2", "a", "b", "LEFT"}) == Positions{2, 3});
  CHECK(keys({"LMPOP", "2", "a", "b", "LEFT", "COUNT", "3"}) == Positions{2, 3});
  // Redis's spec counts whatever follows: with numkeys 3, "LEFT" is the third key (GETKEYS
  // answers [a, b, LEFT]); LMPOP itself then replies a syntax error.
  CHECK(keys({"LMPOP", "3", "a", "b", "LEFT"}) == Positions{2, 3, 4});
  CHECK(error({"LMPOP", "4", "a", "b", "LEFT"}) == KeyError::kTooManyKeys);
  CHECK(keys({"BLMPOP", "0", "2", "a", "b", "LEFT"}) == Positions{3, 4});
  CHECK(keys({"SINTERCARD", "2", "a", "b", "LIMIT", "1"}) == Positions{2, 3});
  CHECK(keys({"SINTERCARD", "0", "a"}).empty());  // Redis: "numkeys should be greater than 0"
  CHECK(error({"SINTERCARD", "3", "a", "b"}) == KeyError::kTooManyKeys);
  CHECK(error({"SINTERCARD", "-2", "a", "b"}) == KeyError::kBadKeyCount);
}

TEST_CASE("keyword specs: XREAD and XREADGROUP STREAMS", "[key_extractor]") {
  CHECK(keys({"XREAD", "COUNT", "1", "BLOCK", "0", "STREAMS", "k1", "k2", "id1", "id2"}) == Positions{6, 7});
  CHECK(keys({"xread", "count", "1", "streams", "k1", "id1"}) == Positions{4});
  CHECK(keys({"XREAD", "sTrEaMs", "k1", "0"}) == Positions{2});
  // The first STREAMS wins, even when the next one is a key called "streams".
  CHECK(keys({"XREAD", "STREAMS", "streams", "streams", "1", "2"}) == Positions{2, 3});
  // Odd count: Redis takes floor(n/2) keys (XREAD then replies "Unbalanced" itself).
  CHECK(keys({"XREAD", "STREAMS", "k1", "k2", "id1"}) == Positions{2});
  // The keyword in the last position is never looked at; no keys, no error (not GETKEYS-checked:
  // arity).
  CHECK(keys({"XREAD", "COUNT", "1", "STREAMS"}).empty());
  CHECK(keys({"XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "k1", "k2", ">", ">"}) == Positions{7, 8});
  CHECK(keys({"XREADGROUP", "GROUP", "g", "c", "STREAMS", "k1", ">"}) == Positions{5});
}

TEST_CASE("keyword specs: GEORADIUS STORE / STOREDIST", "[key_extractor]") {
  CHECK(keys({"GEORADIUS", "k", "0", "0", "1", "km"}) == Positions{1});
  CHECK(keys({"GEORADIUS", "k", "0", "0", "1", "km", "STORE", "d"}) == Positions{1, 7});
  CHECK(keys({"GEORADIUS", "k", "0", "0", "1", "km", "STOREDIST", "d"}) == Positions{1, 7});
  CHECK(keys({"GEORADIUS", "k", "0", "0", "1", "km", "WITHDIST", "COUNT", "3", "store", "d"}) == Positions{1, 10});
  CHECK(keys({"GEORADIUSBYMEMBER", "k", "m", "1", "km", "STORE", "d"}) == Positions{1, 6});
}

TEST_CASE("incomplete and unknown specs", "[key_extractor]") {
  CHECK(keys({"MIGRATE", "host", "6379", "k", "0", "5000"}) == Positions{3});
  CHECK(keys({"MIGRATE", "host", "6379", "k", "0", "5000", "COPY", "REPLACE"}) == Positions{3});
  // The KEYS form: the spec walk yields the (empty) key at 3 and the incomplete KEYS spec's
  // keys. GETKEYS answers only [a, b]: Redis discards incomplete specs and asks MIGRATE's own
  // getkeys function, which skips the empty key.
  CHECK(keys({"MIGRATE", "host", "6379", "", "0", "5000", "KEYS", "a", "b"}) == Positions{3, 7, 8});
  // The KEYS keyword is searched backward from argc-2, so a trailing KEYS finds nothing.
  CHECK(keys({"MIGRATE", "host", "6379", "", "0", "5000", "KEYS"}) == Positions{3});

  CHECK(keys({"SORT", "k"}) == Positions{1});
  CHECK(keys({"SORT", "k", "LIMIT", "0", "10", "ALPHA"}) == Positions{1});
  // BY/GET/STORE keys are "unknown" specs: only the sorted key. GETKEYS answers [k, d] via
  // SORT's own getkeys function.
  CHECK(keys({"SORT", "k", "BY", "w_*", "GET", "o_*", "STORE", "d"}) == Positions{1});
  CHECK(keys({"SORT_RO", "k", "BY", "w_*"}) == Positions{1});
}

TEST_CASE("subcommands count positions from the container name", "[key_extractor]") {
  CHECK(keys({"OBJECT", "ENCODING", "key"}) == Positions{2});
  CHECK(keys({"object", "freq", "key"}) == Positions{2});
  CHECK(keys({"MEMORY", "USAGE", "key", "SAMPLES", "5"}) == Positions{2});
  CHECK(keys({"XINFO", "STREAM", "key", "FULL"}) == Positions{2});
  CHECK(keys({"XGROUP", "CREATE", "key", "g", "$"}) == Positions{2});
  CHECK(keys({"CONFIG", "GET", "maxmemory"}).empty());
  CHECK(keys({"OBJECT", "HELP"}).empty());
}

TEST_CASE("shard channels are followed like keys", "[key_extractor]") {
  // Deliberately not Redis's getKeysUsingKeySpecs (which skips "not_key" specs: GETKEYS says
  // "The command has no key arguments"): Redis Cluster routes shard channels by slot.
  CHECK(keys({"SPUBLISH", "ch", "msg"}) == Positions{1});
  CHECK(keys({"SSUBSCRIBE", "a", "b"}) == Positions{1, 2});
  CHECK(keys({"SUNSUBSCRIBE", "a"}) == Positions{1});
  CHECK(keys({"SUNSUBSCRIBE"}).empty());
  CHECK(keys({"PUBLISH", "ch", "msg"}).empty());  // classic pub/sub is cluster-wide
}

TEST_CASE("hand-built specs exercise Redis's search bounds", "[key_extractor]") {
  // Keyword searched backward from argc-2 down to, but excluding, argv[1].
  KeySpec backward{.begin = BeginSearch::kKeyword,
                   .index = 0,
                   .keyword = "KEYS",
                   .startfrom = -2,
                   .find = FindKeys::kRange,
                   .lastkey = 0,
                   .keystep = 1,
                   .limit = 0,
                   .keynumidx = 0,
                   .firstkey = 0,
                   .flags = kKeyRO};
  CommandSpec cmd{"x",
                  "test",
                  -1,
                  0,
                  &backward,
                  1,
                  nullptr,
                  0,
                  RequestTip::kDefault,
                  ResponseTip::kDefault,
                  false,
                  Policy::kForward,
                  Handler::kForward,
                  Merge::kNone,
                  0};
  std::vector<uint32_t> positions;
  auto run = [&](std::initializer_list<std::string_view> args) {
    std::vector<std::string_view> argv(args);
    REQUIRE(extractKeys(cmd, argv, positions) == KeyError::kNone);
    return positions;
  };
  CHECK(run({"x", "a", "KEYS", "k", "z"}) == Positions{3});
  CHECK(run({"x", "KEYS", "k", "z"}).empty());                       // argv[1] is not searched
  CHECK(run({"x", "a", "b", "k", "KEYS"}).empty());                  // nor argv[argc-1]
  CHECK(run({"x", "a", "keys", "KEYS", "k", "z"}) == Positions{4});  // backward: last one wins

  // A keynum spec with a step, counted like Redis: numkeys args, every keystep-th one a key.
  KeySpec stepped{.begin = BeginSearch::kIndex,
                  .index = 1,
                  .keyword = nullptr,
                  .startfrom = 0,
                  .find = FindKeys::kKeynum,
                  .lastkey = 0,
                  .keystep = 2,
                  .limit = 0,
                  .keynumidx = 0,
                  .firstkey = 1,
                  .flags = kKeyRW};
  cmd.key_specs = &stepped;
  CHECK(run({"x", "4", "k1", "v1", "k2", "v2"}) == Positions{2, 4});

  // Nothing to follow: no keys.
  KeySpec unknown{.begin = BeginSearch::kUnknown,
                  .index = 0,
                  .keyword = nullptr,
                  .startfrom = 0,
                  .find = FindKeys::kUnknown,
                  .lastkey = 0,
                  .keystep = 0,
                  .limit = 0,
                  .keynumidx = 0,
                  .firstkey = 0,
                  .flags = 0};
  cmd.key_specs = &unknown;
  CHECK(run({"x", "a", "b"}).empty());
}

}  // namespace slotgate::command
