// The proxy's columns of the table: every row's Handler, the Policy it implies, its Merge and the
// ProxyFlag bits, for representative rows and as rules over the whole table.
#include <catch2/catch.hpp>

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/command/classifier.h"
#include "proxy/command/command_table.h"
#include "proxy/command/proxy_commands.h"

namespace slotgate::command {
namespace {

// "get" or "config|get", from the generated table or slotgate's own rows.
const CommandSpec& row(std::string_view name) {
  size_t bar = name.find('|');
  std::string_view top = name.substr(0, bar);
  const CommandSpec* spec = findCommand(top);
  if (!spec) spec = findProxyCommand(top);
  REQUIRE(spec);
  if (bar == std::string_view::npos) return *spec;
  const CommandSpec* sub = findSubcommand(*spec, name.substr(bar + 1));
  if (!sub) sub = findProxySubcommand(*spec, name.substr(bar + 1));
  REQUIRE(sub);
  return *sub;
}

Handler handler(std::string_view name) { return row(name).handler; }
Merge merge(std::string_view name) { return row(name).merge; }
bool has(std::string_view name, ProxyFlag flag) { return (row(name).proxy_flags & flag) != 0; }

// Every row of the generated table, subcommands included.
std::vector<const CommandSpec*> allRows() {
  std::vector<const CommandSpec*> rows;
  for (const CommandSpec& spec : allCommands()) {
    rows.push_back(&spec);
    for (const CommandSpec& sub : std::span(spec.subcommands, spec.subcommand_count)) rows.push_back(&sub);
  }
  return rows;
}

}  // namespace

TEST_CASE("routed commands name their routing handler", "[command_handler]") {
  CHECK(handler("get") == Handler::kForward);
  CHECK(handler("set") == Handler::kForward);
  CHECK(handler("object|encoding") == Handler::kForward);
  CHECK(handler("config|rewrite") == Handler::kForward);
  CHECK(handler("pubsub|help") == Handler::kForward);
  for (auto name : {"mget", "mset", "del", "unlink", "exists", "touch"}) {
    INFO(name);
    CHECK(handler(name) == Handler::kSplit);
  }
  for (auto name : {"keys", "dbsize", "flushall", "flushdb", "randomkey", "info", "script|kill", "function|load",
                    "function|kill"}) {
    INFO(name);
    CHECK(handler(name) == Handler::kAllPrimaries);
  }
  CHECK(handler("config|set") == Handler::kAllNodes);
  CHECK(handler("config|resetstat") == Handler::kAllNodes);
  CHECK(handler("cluster|countkeysinslot") == Handler::kSlotArg);
  CHECK(handler("scan") == Handler::kCursor);
  for (auto name : {"monitor", "sync", "shutdown", "cluster|setslot", "cluster|help", "asking"}) {
    INFO(name);
    CHECK(handler(name) == Handler::kUnsupported);
  }
}

TEST_CASE("commands with extra proxy work name their own handler", "[command_handler]") {
  CHECK(handler("publish") == Handler::kPublish);
  CHECK(handler("spublish") == Handler::kForward);  // a shard channel routes like a key
  CHECK(handler("config|get") == Handler::kConfigGet);
  CHECK(handler("slowlog|get") == Handler::kSlowlogGet);
  CHECK(handler("slowlog|len") == Handler::kSlowlogLen);
  CHECK(handler("slowlog|reset") == Handler::kSlowlogReset);
  CHECK(handler("slowlog|help") == Handler::kSlowlogHelp);
  CHECK(handler("eval") == Handler::kEval);
  CHECK(handler("eval_ro") == Handler::kEval);
  CHECK(handler("evalsha") == Handler::kEvalsha);
  CHECK(handler("evalsha_ro") == Handler::kEvalsha);
  CHECK(handler("fcall") == Handler::kForward);
  CHECK(handler("script|load") == Handler::kScriptLoad);
  CHECK(handler("script|flush") == Handler::kScriptFlush);
  CHECK(handler("script|exists") == Handler::kScriptExists);
  for (auto name :
       {"pubsub|channels", "pubsub|numsub", "pubsub|numpat", "pubsub|shardchannels", "pubsub|shardnumsub"}) {
    INFO(name);
    CHECK(handler(name) == Handler::kPubsubIntrospection);
    CHECK(row(name).policy == Policy::kAllPrimaries);
  }
}

TEST_CASE("local replies name which one", "[command_handler]") {
  CHECK(handler("ping") == Handler::kPing);
  CHECK(handler("echo") == Handler::kEcho);
  CHECK(handler("quit") == Handler::kQuit);
  CHECK(handler("select") == Handler::kSelect);
  CHECK(handler("readonly") == Handler::kReadMode);
  CHECK(handler("readwrite") == Handler::kReadMode);
  CHECK(handler("cluster|keyslot") == Handler::kClusterKeyslot);
  CHECK(handler("cluster|info") == Handler::kClusterInfo);
  CHECK(handler("cluster|slots") == Handler::kClusterSlots);
  CHECK(handler("cluster|shards") == Handler::kClusterShards);
  CHECK(handler("cluster|nodes") == Handler::kClusterNodes);
  CHECK(handler("cluster|myid") == Handler::kClusterMyid);
  CHECK(handler("slotgate|help") == Handler::kSlotgateHelp);
  CHECK(handler("slotgate|reload") == Handler::kSlotgateReload);
  CHECK(handler("slotgate|topology") == Handler::kSlotgateTopology);
  CHECK(handler("slotgate|config") == Handler::kSlotgateConfig);
  for (auto name : {"slotgate|help", "slotgate|reload", "slotgate|topology", "slotgate|config"}) {
    INFO(name);
    CHECK(row(name).policy == Policy::kLocal);
  }
}

TEST_CASE("connection-state commands name the session's handler", "[command_handler]") {
  CHECK(handler("multi") == Handler::kMulti);
  CHECK(handler("exec") == Handler::kExec);
  CHECK(handler("discard") == Handler::kDiscard);
  CHECK(handler("watch") == Handler::kWatch);
  CHECK(handler("unwatch") == Handler::kUnwatch);
  CHECK(handler("wait") == Handler::kWait);
  CHECK(handler("subscribe") == Handler::kSubscribe);
  CHECK(handler("psubscribe") == Handler::kPsubscribe);
  CHECK(handler("ssubscribe") == Handler::kSsubscribe);
  CHECK(handler("unsubscribe") == Handler::kUnsubscribe);
  CHECK(handler("punsubscribe") == Handler::kPunsubscribe);
  CHECK(handler("sunsubscribe") == Handler::kSunsubscribe);
  CHECK(handler("auth") == Handler::kAuth);
  CHECK(handler("hello") == Handler::kHello);
  CHECK(handler("reset") == Handler::kReset);
  for (auto name : {"blpop", "brpop", "blmove", "brpoplpush", "blmpop", "bzpopmin", "bzpopmax", "bzmpop"}) {
    INFO(name);
    CHECK(handler(name) == Handler::kBlocking);
  }
  CHECK(handler("xread") == Handler::kBlockingStreamRead);
  CHECK(handler("xreadgroup") == Handler::kBlockingStreamRead);
  CHECK(handler("client|setname") == Handler::kClientSetname);
  CHECK(handler("client|getname") == Handler::kClientGetname);
  CHECK(handler("client|id") == Handler::kClientId);
  CHECK(handler("client|info") == Handler::kClientInfo);
  CHECK(handler("client|list") == Handler::kClientList);
  CHECK(handler("client|kill") == Handler::kClientKill);
  CHECK(handler("client|no-evict") == Handler::kClientNoEvict);
  CHECK(handler("client|reply") == Handler::kClientReply);
  CHECK(handler("client|getredir") == Handler::kClientGetredir);
  CHECK(handler("client|help") == Handler::kClientHelp);
  CHECK(handler("client|unblock") == Handler::kClientUnblock);
  for (auto name :
       {"client|caching", "client|pause", "client|unpause", "client|tracking", "client|trackinginfo"}) {
    INFO(name);
    CHECK(handler(name) == Handler::kClientUnsupported);
  }
  // Newer than the table: slotgate's own rows, found only through findProxySubcommand.
  CHECK(handler("client|setinfo") == Handler::kClientSetinfo);
  CHECK(handler("client|no-touch") == Handler::kClientNoTouch);
  CHECK(findSubcommand(*findCommand("client"), "setinfo") == nullptr);
  CHECK(findProxySubcommand(*findCommand("client"), "SETINFO") == &row("client|setinfo"));
  CHECK(findProxySubcommand(*findCommand("config"), "setinfo") == nullptr);
}

TEST_CASE("merges come from the response tip or the proxy's own choice", "[command_handler]") {
  CHECK(merge("mget") == Merge::kArrayByIndex);
  CHECK(merge("mset") == Merge::kAllSucceeded);
  for (auto name : {"del", "unlink", "exists", "touch", "dbsize", "pubsub|numpat"}) {
    INFO(name);
    CHECK(merge(name) == Merge::kSum);
  }
  CHECK(merge("keys") == Merge::kConcat);
  CHECK(merge("flushall") == Merge::kAllSucceeded);
  CHECK(merge("randomkey") == Merge::kRandomNonNull);
  CHECK(merge("info") == Merge::kInfo);
  CHECK(merge("script|exists") == Merge::kLogicalAnd);
  CHECK(merge("script|load") == Merge::kAllSucceeded);
  CHECK(merge("script|kill") == Merge::kKillScript);
  CHECK(merge("function|kill") == Merge::kKillScript);
  CHECK(merge("config|set") == Merge::kAllSucceeded);
  CHECK(merge("config|resetstat") == Merge::kAllSucceeded);
  CHECK(merge("pubsub|channels") == Merge::kUnion);
  CHECK(merge("pubsub|shardchannels") == Merge::kUnion);
  CHECK(merge("pubsub|numsub") == Merge::kSumByName);
  CHECK(merge("pubsub|shardnumsub") == Merge::kSumByName);
  for (auto name : {"get", "set", "ping", "multi", "scan", "config|get", "eval", "slotgate|config"}) {
    INFO(name);
    CHECK(merge(name) == Merge::kNone);
  }
}

TEST_CASE("the proxy's attributes are bits of the row", "[command_handler]") {
  for (auto name : {"auth", "hello", "quit", "ping"}) CHECK(has(name, kProxyNoAuth));
  for (auto name : {"get", "client|setname", "select", "slotgate|help"}) CHECK_FALSE(has(name, kProxyNoAuth));

  // Redis's admin flag, plus what empties or scans the keyspace or kills.
  for (auto name : {"flushall", "flushdb", "keys", "client|kill", "script|flush", "script|kill", "function|flush",
                    "function|delete", "function|restore", "function|load", "function|kill", "config|set",
                    "config|get", "shutdown", "slotgate|config", "slotgate|reload"}) {
    INFO(name);
    CHECK(has(name, kProxyAdminOnly));
  }
  for (auto name : {"get", "dbsize", "script|load", "client|setname", "slotgate|topology", "slotgate|help"}) {
    INFO(name);
    CHECK_FALSE(has(name, kProxyAdminOnly));
  }

  CHECK(has("info", kProxyOverBudget));
  CHECK_FALSE(has("dbsize", kProxyOverBudget));

  for (auto name : {"subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe", "ping",
                    "quit", "reset"}) {
    INFO(name);
    CHECK(has(name, kProxySubscribedOk));
  }
  CHECK_FALSE(has("get", kProxySubscribedOk));
  CHECK_FALSE(has("publish", kProxySubscribedOk));

  for (auto name : {"multi", "exec", "discard", "watch", "quit", "reset"}) CHECK(has(name, kProxyNotQueued));
  for (auto name : {"unwatch", "get", "ping", "subscribe"}) CHECK_FALSE(has(name, kProxyNotQueued));

  for (auto name : {"exec", "watch", "wait", "reset", "subscribe", "sunsubscribe", "blpop", "xread"}) {
    INFO(name);
    CHECK(has(name, kProxyRunsAlone));
  }
  for (auto name : {"multi", "unwatch", "ping", "get"}) CHECK_FALSE(has(name, kProxyRunsAlone));

  for (auto name : {"wait", "blpop", "bzmpop", "xreadgroup"}) CHECK(has(name, kProxyWaits));
  for (auto name : {"get", "exec", "subscribe"}) CHECK_FALSE(has(name, kProxyWaits));
  // Scripts take their own lane and, keyless, one node; what Redis serves during a busy script
  // goes on an idle link.
  for (auto name : {"eval", "eval_ro", "evalsha", "evalsha_ro", "fcall", "fcall_ro"}) {
    CHECK(has(name, kProxySlow));
    CHECK(has(name, kProxyOnePrimary));
  }
  for (auto name : {"get", "set", "function|load", "script|load"}) CHECK_FALSE(has(name, kProxySlow));
  CHECK(has("function|stats", kProxyOnePrimary));
  for (auto name : {"script|kill", "function|kill", "function|stats"}) CHECK(has(name, kProxyIdleLink));
  for (auto name : {"get", "eval", "replconf", "multi"}) CHECK_FALSE(has(name, kProxyIdleLink));
}

TEST_CASE("every row's handler, policy and merge agree", "[command_handler]") {
  auto policyOf = [](Handler h) {
    switch (h) {
      case Handler::kForward:
      case Handler::kPublish:
      case Handler::kConfigGet:
      case Handler::kSlowlogGet:
      case Handler::kSlowlogLen:
      case Handler::kSlowlogReset:
      case Handler::kSlowlogHelp:
      case Handler::kEval:
      case Handler::kEvalsha:
        return Policy::kForward;
      case Handler::kSplit:
        return Policy::kSplit;
      case Handler::kAllPrimaries:
      case Handler::kScriptLoad:
      case Handler::kScriptFlush:
      case Handler::kScriptExists:
      case Handler::kPubsubIntrospection:
        return Policy::kAllPrimaries;
      case Handler::kAllNodes:
        return Policy::kAllNodes;
      case Handler::kSlotArg:
        return Policy::kSlotArg;
      case Handler::kCursor:
        return Policy::kCursor;
      case Handler::kUnsupported:
        return Policy::kUnsupported;
      case Handler::kPing:
      case Handler::kEcho:
      case Handler::kQuit:
      case Handler::kSelect:
      case Handler::kReadMode:
      case Handler::kClusterKeyslot:
      case Handler::kClusterInfo:
      case Handler::kClusterSlots:
      case Handler::kClusterShards:
      case Handler::kClusterNodes:
      case Handler::kClusterMyid:
      case Handler::kSlotgateHelp:
      case Handler::kSlotgateReload:
      case Handler::kSlotgateTopology:
      case Handler::kSlotgateConfig:
        return Policy::kLocal;
      default:
        return Policy::kStateful;
    }
  };
  for (const CommandSpec* spec : allRows()) {
    INFO(spec->name);
    CHECK(spec->policy == policyOf(spec->handler));
    // Exactly the split and fanned-out rows merge (kAllPrimaries with Redis's "special" tip
    // would be kNone: there is none in 7.0).
    bool merged = spec->policy == Policy::kSplit || spec->policy == Policy::kAllPrimaries ||
                  spec->policy == Policy::kAllNodes;
    CHECK((spec->merge != Merge::kNone) == merged);
    if (spec->flags & kFlagBlocking) {
      CHECK((spec->handler == Handler::kBlocking || spec->handler == Handler::kBlockingStreamRead));
      CHECK((spec->proxy_flags & kProxyRunsAlone) != 0);
      CHECK((spec->proxy_flags & kProxyWaits) != 0);
    }
    if (spec->flags & kFlagAdmin) CHECK((spec->proxy_flags & kProxyAdminOnly) != 0);
    std::string_view name = spec->name;
    if (name.starts_with("client|")) CHECK(spec->policy == Policy::kStateful);
  }
}

TEST_CASE("the classifier keeps the row, whose handler the layers switch on", "[command_handler]") {
  Classification c;
  std::vector<std::string_view> argv = {"Client", "SETNAME", "x"};
  classify(argv, &c);
  REQUIRE(c.spec);
  CHECK(c.spec->handler == Handler::kClientSetname);
  argv = {"slotgate", "TOPOLOGY"};
  classify(argv, &c);
  REQUIRE(c.spec);
  CHECK(c.spec->handler == Handler::kSlotgateTopology);
  CHECK(c.fallback == nullptr);
}

TEST_CASE("an unknown subcommand slotgate answers itself comes with its row", "[command_handler]") {
  Classification c;
  std::vector<std::string_view> argv = {"CLIENT", "SetInfo", "lib-name", "x"};
  classify(argv, &c);
  CHECK(c.spec == nullptr);
  CHECK(c.error.rfind("-ERR unknown subcommand 'SetInfo'", 0) == 0);
  REQUIRE(c.fallback);
  CHECK(c.fallback->handler == Handler::kClientSetinfo);
  argv = {"client", "no-touch"};  // arity is the session's to check
  classify(argv, &c);
  REQUIRE(c.fallback);
  CHECK(c.fallback->handler == Handler::kClientNoTouch);
  argv = {"client", "nosuch"};
  classify(argv, &c);
  CHECK_FALSE(c.error.empty());
  CHECK(c.fallback == nullptr);
  argv = {"config", "setinfo"};
  classify(argv, &c);
  CHECK(c.fallback == nullptr);
  argv = {"nosuch", "setinfo"};
  classify(argv, &c);
  CHECK(c.fallback == nullptr);
}

}  // namespace slotgate::command
