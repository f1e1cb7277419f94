#include "proxy/command/command_table.h"

#include <catch2/catch.hpp>

#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace slotgate::command {
namespace {

// Every top-level command and subcommand of Redis 7.0.15, as listed by its COMMAND INFO. A
// regeneration that loses a command (or a server that is not 7.0) fails here.
constexpr const char* kRedis70Commands =
    "acl append asking auth bgrewriteaof bgsave bitcount bitfield bitfield_ro bitop bitpos "
    "blmove blmpop blpop brpop brpoplpush bzmpop bzpopmax bzpopmin client cluster command "
    "config copy dbsize debug decr decrby del discard dump echo eval eval_ro evalsha "
    "evalsha_ro exec exists expire expireat expiretime failover fcall fcall_ro flushall "
    "flushdb function geoadd geodist geohash geopos georadius georadius_ro georadiusbymember "
    "georadiusbymember_ro geosearch geosearchstore get getbit getdel getex getrange getset "
    "hdel hello hexists hget hgetall hincrby hincrbyfloat hkeys hlen hmget hmset hrandfield "
    "hscan hset hsetnx hstrlen hvals incr incrby incrbyfloat info keys lastsave latency lcs "
    "lindex linsert llen lmove lmpop lolwut lpop lpos lpush lpushx lrange lrem lset ltrim "
    "memory mget migrate module monitor move mset msetnx multi object persist pexpire "
    "pexpireat pexpiretime pfadd pfcount pfdebug pfmerge pfselftest ping psetex psubscribe "
    "psync pttl publish pubsub punsubscribe quit randomkey readonly readwrite rename renamenx "
    "replconf replicaof reset restore restore-asking role rpop rpoplpush rpush rpushx sadd "
    "save scan scard script sdiff sdiffstore select set setbit setex setnx setrange shutdown "
    "sinter sintercard sinterstore sismember slaveof slowlog smembers smismember smove sort "
    "sort_ro spop spublish srandmember srem sscan ssubscribe strlen subscribe substr sunion "
    "sunionstore sunsubscribe swapdb sync time touch ttl type unlink unsubscribe unwatch wait "
    "watch xack xadd xautoclaim xclaim xdel xgroup xinfo xlen xpending xrange xread "
    "xreadgroup xrevrange xsetid xtrim zadd zcard zcount zdiff zdiffstore zincrby zinter "
    "zintercard zinterstore zlexcount zmpop zmscore zpopmax zpopmin zrandmember zrange "
    "zrangebylex zrangebyscore zrangestore zrank zrem zremrangebylex zremrangebyrank "
    "zremrangebyscore zrevrange zrevrangebylex zrevrangebyscore zrevrank zscan zscore zunion "
    "zunionstore ";
constexpr const char* kRedis70Subcommands =
    "acl|cat acl|deluser acl|dryrun acl|genpass acl|getuser acl|help acl|list acl|load "
    "acl|log acl|save acl|setuser acl|users acl|whoami client|caching client|getname "
    "client|getredir client|help client|id client|info client|kill client|list "
    "client|no-evict client|pause client|reply client|setname client|tracking "
    "client|trackinginfo client|unblock client|unpause cluster|addslots cluster|addslotsrange "
    "cluster|bumpepoch cluster|count-failure-reports cluster|countkeysinslot cluster|delslots "
    "cluster|delslotsrange cluster|failover cluster|flushslots cluster|forget "
    "cluster|getkeysinslot cluster|help cluster|info cluster|keyslot cluster|links "
    "cluster|meet cluster|myid cluster|nodes cluster|replicas cluster|replicate cluster|reset "
    "cluster|saveconfig cluster|set-config-epoch cluster|setslot cluster|shards "
    "cluster|slaves cluster|slots command|count command|docs command|getkeys "
    "command|getkeysandflags command|help command|info command|list config|get config|help "
    "config|resetstat config|rewrite config|set function|delete function|dump function|flush "
    "function|help function|kill function|list function|load function|restore function|stats "
    "latency|doctor latency|graph latency|help latency|histogram latency|history "
    "latency|latest latency|reset memory|doctor memory|help memory|malloc-stats memory|purge "
    "memory|stats memory|usage module|help module|list module|load module|loadex "
    "module|unload object|encoding object|freq object|help object|idletime object|refcount "
    "pubsub|channels pubsub|help pubsub|numpat pubsub|numsub pubsub|shardchannels "
    "pubsub|shardnumsub script|debug script|exists script|flush script|help script|kill "
    "script|load slowlog|get slowlog|help slowlog|len slowlog|reset xgroup|create "
    "xgroup|createconsumer xgroup|delconsumer xgroup|destroy xgroup|help xgroup|setid "
    "xinfo|consumers xinfo|groups xinfo|help xinfo|stream ";

std::vector<std::string> words(const char* text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

const CommandSpec& command(std::string_view name) {
  const CommandSpec* spec = findCommand(name);
  REQUIRE(spec != nullptr);
  return *spec;
}

const CommandSpec& subcommand(std::string_view container, std::string_view sub) {
  const CommandSpec* spec = findSubcommand(command(container), sub);
  REQUIRE(spec != nullptr);
  return *spec;
}

}  // namespace

TEST_CASE("command table holds every Redis 7.0 command and subcommand", "[command_table]") {
  std::vector<std::string> top = words(kRedis70Commands);
  std::vector<std::string> subs = words(kRedis70Subcommands);
  REQUIRE(top.size() == 240);
  REQUIRE(subs.size() == 126);
  CHECK(allCommands().size() == top.size());

  for (const std::string& name : top) {
    INFO(name);
    const CommandSpec* spec = findCommand(name);
    REQUIRE(spec != nullptr);
    CHECK(spec->name == name);
  }
  size_t sub_rows = 0;
  for (const CommandSpec& spec : allCommands()) sub_rows += spec.subcommand_count;
  CHECK(sub_rows == subs.size());
  for (const std::string& full : subs) {
    INFO(full);
    size_t bar = full.find('|');
    const CommandSpec* sub = findSubcommand(command(full.substr(0, bar)), full.substr(bar + 1));
    REQUIRE(sub != nullptr);
    CHECK(sub->name == full);
  }
}

TEST_CASE("command table rows are sorted and well formed", "[command_table]") {
  std::string_view previous;
  for (const CommandSpec& spec : allCommands()) {
    std::string_view name = spec.name;
    INFO(name);
    CHECK(previous < name);  // strictly sorted: findCommand binary-searches
    previous = name;
    CHECK(name.find('|') == std::string_view::npos);
    CHECK(std::string_view(spec.group).size() > 0);
    CHECK(spec.arity != 0);
    CHECK((spec.key_spec_count == 0) == (spec.key_specs == nullptr));
    CHECK((spec.subcommand_count == 0) == (spec.subcommands == nullptr));
    for (char c : name) CHECK_FALSE((c >= 'A' && c <= 'Z'));

    std::string_view previous_sub;
    for (const CommandSpec& sub : std::span(spec.subcommands, spec.subcommand_count)) {
      std::string_view sub_name = sub.name;
      INFO(sub_name);
      CHECK(sub_name.substr(0, name.size() + 1) == std::string(name) + "|");
      CHECK(previous_sub < sub_name);
      previous_sub = sub_name;
      CHECK(sub.subcommands == nullptr);
    }
  }
}

TEST_CASE("command rows carry Redis's arity, flags, group and key specs", "[command_table]") {
  const CommandSpec& get = command("get");
  CHECK(get.arity == 2);
  CHECK(get.flags & kFlagReadonly);
  CHECK(get.flags & kFlagFast);
  CHECK_FALSE(get.flags & kFlagWrite);
  CHECK(std::string_view(get.group) == "string");
  REQUIRE(get.key_spec_count == 1);
  CHECK(get.key_specs[0].begin == BeginSearch::kIndex);
  CHECK(get.key_specs[0].index == 1);
  CHECK(get.key_specs[0].find == FindKeys::kRange);
  CHECK(get.key_specs[0].lastkey == 0);
  CHECK(get.key_specs[0].keystep == 1);
  CHECK(get.key_specs[0].flags == kKeyRO);

  const CommandSpec& set = command("set");
  CHECK(set.arity == -3);
  CHECK(set.flags & kFlagWrite);
  CHECK(set.flags & kFlagDenyOom);
  CHECK_FALSE(set.flags & kFlagReadonly);
  REQUIRE(set.key_spec_count == 1);
  CHECK(set.key_specs[0].flags == (kKeyRW | kKeyVariableFlags));  // SET ... GET reads too

  const CommandSpec& mset = command("mset");
  REQUIRE(mset.key_spec_count == 1);
  CHECK(mset.key_specs[0].lastkey == -1);
  CHECK(mset.key_specs[0].keystep == 2);
  CHECK(mset.request_tip == RequestTip::kMultiShard);
  CHECK(mset.response_tip == ResponseTip::kAllSucceeded);

  const CommandSpec& xread = command("xread");
  CHECK(xread.flags & kFlagBlocking);
  CHECK(xread.flags & kFlagMovableKeys);
  REQUIRE(xread.key_spec_count == 1);
  CHECK(xread.key_specs[0].begin == BeginSearch::kKeyword);
  CHECK(std::string_view(xread.key_specs[0].keyword) == "STREAMS");
  CHECK(xread.key_specs[0].startfrom == 1);
  CHECK(xread.key_specs[0].lastkey == -1);
  CHECK(xread.key_specs[0].limit == 2);

  const CommandSpec& eval = command("eval");
  REQUIRE(eval.key_spec_count == 1);
  CHECK(eval.key_specs[0].find == FindKeys::kKeynum);
  CHECK(eval.key_specs[0].index == 2);
  CHECK(eval.key_specs[0].keynumidx == 0);
  CHECK(eval.key_specs[0].firstkey == 1);

  const CommandSpec& sort = command("sort");
  REQUIRE(sort.key_spec_count == 3);
  CHECK(sort.key_specs[1].begin == BeginSearch::kUnknown);
  CHECK(sort.key_specs[2].find == FindKeys::kUnknown);

  const CommandSpec& migrate = command("migrate");
  REQUIRE(migrate.key_spec_count == 2);
  CHECK(migrate.key_specs[1].flags & kKeyIncomplete);
  CHECK(migrate.key_specs[1].startfrom == -2);

  const CommandSpec& dbsize = command("dbsize");
  CHECK(dbsize.request_tip == RequestTip::kAllShards);
  CHECK(dbsize.response_tip == ResponseTip::kAggSum);
  CHECK(command("randomkey").nondeterministic);
  CHECK_FALSE(get.nondeterministic);

  const CommandSpec& object = command("object");
  CHECK(object.arity == -2);
  CHECK(object.key_spec_count == 0);
  CHECK(object.subcommand_count == 5);
  const CommandSpec& encoding = subcommand("object", "encoding");
  CHECK(std::string_view(encoding.name) == "object|encoding");
  CHECK(std::string_view(encoding.group) == "generic");
  CHECK(encoding.arity == 3);
  CHECK(encoding.flags & kFlagReadonly);
  REQUIRE(encoding.key_spec_count == 1);
  CHECK(encoding.key_specs[0].index == 2);  // counted from "OBJECT" at argv[0]

  CHECK(subcommand("config", "set").request_tip == RequestTip::kAllNodes);
  CHECK(subcommand("memory", "usage").key_specs[0].index == 2);
}

TEST_CASE("lookups ignore case and reject unknown names", "[command_table]") {
  const CommandSpec* get = findCommand("get");
  REQUIRE(get != nullptr);
  CHECK(findCommand("GET") == get);
  CHECK(findCommand("gEt") == get);
  CHECK(findCommand("RESTORE-ASKING") == findCommand("restore-asking"));
  CHECK(findCommand("GEORADIUSBYMEMBER_RO") != nullptr);
  CHECK(findCommand("acl") == &allCommands().front());
  CHECK(findCommand("zunionstore") == &allCommands().back());

  CHECK(findCommand("") == nullptr);
  CHECK(findCommand("nosuchcommand") == nullptr);
  CHECK(findCommand("ge") == nullptr);
  CHECK(findCommand("gett") == nullptr);
  CHECK(findCommand("get ") == nullptr);
  CHECK(findCommand("object|encoding") == nullptr);  // subcommands are not top-level
  CHECK(findCommand(std::string(40, 'a')) == nullptr);
  CHECK(findCommand(std::string("get\0", 4)) == nullptr);

  const CommandSpec& object = command("OBJECT");
  CHECK(findSubcommand(object, "ENCODING") == findSubcommand(object, "encoding"));
  CHECK(findSubcommand(object, "EnCoDiNg") != nullptr);
  CHECK(findSubcommand(command("cluster"), "COUNT-FAILURE-REPORTS") != nullptr);
  CHECK(findSubcommand(object, "") == nullptr);
  CHECK(findSubcommand(object, "nosuch") == nullptr);
  CHECK(findSubcommand(object, "object|encoding") == nullptr);
  CHECK(findSubcommand(object, std::string(40, 'e')) == nullptr);
  CHECK(findSubcommand(*get, "encoding") == nullptr);  // not a container
}

TEST_CASE("policies follow the proxy's rules", "[command_table]") {
  auto policy = [](std::string_view name) {
    size_t bar = name.find('|');
    if (bar == std::string_view::npos) return command(name).policy;
    return subcommand(name.substr(0, bar), name.substr(bar + 1)).policy;
  };
  for (auto name : {"ping", "echo", "quit", "select", "readonly", "readwrite", "cluster|keyslot", "cluster|info",
                    "cluster|slots", "cluster|shards", "cluster|nodes", "cluster|myid"}) {
    INFO(name);
    CHECK(policy(name) == Policy::kLocal);
  }
  for (auto name : {"mget", "mset", "del", "unlink", "exists", "touch"}) {
    INFO(name);
    CHECK(policy(name) == Policy::kSplit);
  }
  CHECK(policy("scan") == Policy::kCursor);
  CHECK(policy("config|set") == Policy::kAllNodes);
  CHECK(policy("config|resetstat") == Policy::kAllNodes);
  CHECK(policy("cluster|countkeysinslot") == Policy::kSlotArg);
  CHECK(policy("cluster|getkeysinslot") == Policy::kSlotArg);
  for (auto name : {"keys",
                    "dbsize",
                    "flushall",
                    "flushdb",
                    "randomkey",
                    "info",
                    "script|kill",
                    "function|kill",
                    "script|load",
                    "script|flush",
                    "script|exists",
                    "function|load",
                    "function|delete",
                    "function|flush",
                    "function|restore",
                    "pubsub|channels",
                    "pubsub|numsub",
                    "pubsub|numpat",
                    "pubsub|shardchannels",
                    "pubsub|shardnumsub"}) {
    INFO(name);
    CHECK(policy(name) == Policy::kAllPrimaries);
  }
  for (auto name : {"multi",       "exec",        "discard",      "watch",      "unwatch",        "subscribe",
                    "psubscribe",  "unsubscribe", "punsubscribe", "ssubscribe", "sunsubscribe",   "auth",
                    "hello",       "reset",       "wait",         "client",     "client|setname", "client|list",
                    "client|kill", "blpop",       "brpop",        "blmove",     "brpoplpush",     "blmpop",
                    "bzpopmin",    "bzpopmax",    "bzmpop",       "xread",      "xreadgroup"}) {
    INFO(name);
    CHECK(policy(name) == Policy::kStateful);
  }
  for (auto name :
       {"monitor", "sync", "psync", "replicaof", "slaveof", "failover", "shutdown", "debug", "asking", "cluster",
        "cluster|setslot", "cluster|addslots", "cluster|failover", "cluster|meet", "cluster|forget"}) {
    INFO(name);
    CHECK(policy(name) == Policy::kUnsupported);
  }
  for (auto name :
       {"get", "set", "migrate", "msetnx", "eval", "object", "object|encoding", "config", "config|get", "script",
        "memory|usage", "pubsub", "pubsub|help", "function|list", "spublish", "publish", "sort", "lmpop"}) {
    INFO(name);
    CHECK(policy(name) == Policy::kForward);
  }

  // Every blocking command needs a connection of its own; every CLUSTER subcommand that changes
  // or reads one node's cluster state is unsupported.
  for (const CommandSpec& spec : allCommands()) {
    INFO(spec.name);
    if (spec.flags & kFlagBlocking) CHECK(spec.policy == Policy::kStateful);
    for (const CommandSpec& sub : std::span(spec.subcommands, spec.subcommand_count)) {
      INFO(sub.name);
      if (sub.flags & kFlagBlocking) CHECK(sub.policy == Policy::kStateful);
      std::string_view container = spec.name;
      if (container == "cluster" && sub.policy != Policy::kLocal && sub.policy != Policy::kSlotArg) {
        CHECK(sub.policy == Policy::kUnsupported);
      }
      if (container == "client") CHECK(sub.policy == Policy::kStateful);
    }
  }
}

}  // namespace slotgate::command
