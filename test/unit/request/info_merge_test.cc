#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <string>
#include <vector>

#include "proxy/request/info_merge.h"
#include "proxy/resp/value.h"
#include "proxy/resp/writer.h"

using slotgate::request::mergeInfo;
using slotgate::request::ProxyInfo;

namespace {

std::string bulk(const std::string& text) {
  std::string out;
  slotgate::resp::appendBulk(out, text);
  return out;
}

std::string decoded(const std::string& reply) {
  auto value = slotgate::resp::decodeValue(reply);
  REQUIRE(value);
  return value->str;
}

std::string node(int keys, int calls, int used_memory, const char* extra_db = "") {
  return bulk(
      "# Server\r\nredis_version:7.0.15\r\nredis_mode:cluster\r\ntcp_port:7000\r\n\r\n"
      "# Clients\r\nconnected_clients:" +
      std::to_string(calls) +
      "\r\nblocked_clients:1\r\n\r\n"
      "# Memory\r\nused_memory:" +
      std::to_string(used_memory) +
      "\r\nused_memory_human:1K\r\n"
      "mem_fragmentation_ratio:1.50\r\n\r\n"
      "# Replication\r\nrole:master\r\nconnected_slaves:1\r\nslave0:ip=127.0.0.1,port=7003\r\n\r\n"
      "# Commandstats\r\ncmdstat_get:calls=" +
      std::to_string(calls) + ",usec=" + std::to_string(calls * 2) +
      ",usec_per_call=2.00,rejected_calls=0,failed_calls=0\r\n\r\n"
      "# Keyspace\r\ndb0:keys=" +
      std::to_string(keys) + ",expires=0,avg_ttl=0\r\n" + extra_db);
}

}  // namespace

TEST_CASE("INFO merges the primaries as one standalone server", "[info]") {
  ProxyInfo proxy;
  proxy.version = "9.9.9";
  proxy.port = 7777;
  proxy.connected_clients = 42;
  proxy.slots_covered = 16384;
  std::vector<std::string> replies = {node(10, 4, 1024), node(5, 6, 2048, "db1:keys=3,expires=1,avg_ttl=100\r\n")};
  std::string text = decoded(mergeInfo(replies, std::vector<std::string>{}, proxy));
  CHECK(text.find("redis_version:7.0.15\r\n") != std::string::npos);
  CHECK(text.find("redis_mode:standalone\r\n") != std::string::npos);
  CHECK(text.find("tcp_port:7777\r\n") != std::string::npos);
  CHECK(text.find("# Clients\r\nconnected_clients:42\r\nblocked_clients:2\r\n") != std::string::npos);
  CHECK(text.find("used_memory:3072\r\n") != std::string::npos);
  CHECK(text.find("used_memory_human:3.00K\r\n") != std::string::npos);
  CHECK(text.find("mem_fragmentation_ratio:1.50\r\n") != std::string::npos);
  CHECK(text.find("role:master\r\nconnected_slaves:0\r\n") != std::string::npos);
  CHECK(text.find("slave0") == std::string::npos);
  CHECK(text.find("cmdstat_get:calls=10,usec=20,usec_per_call=2.00,rejected_calls=0,failed_calls=0\r\n") !=
        std::string::npos);
  CHECK(text.find("db0:keys=15,expires=0,avg_ttl=0\r\n") != std::string::npos);
  CHECK(text.find("db1:keys=3,expires=1,avg_ttl=100\r\n") != std::string::npos);
  CHECK(text.find("# Proxy\r\nslotgate_version:9.9.9\r\n") != std::string::npos);
  CHECK(text.find("cluster_slots_covered:16384") != std::string::npos);
}

TEST_CASE("INFO with named sections adds Proxy only when asked", "[info]") {
  ProxyInfo proxy;
  std::vector<std::string> replies = {bulk("# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n")};
  std::vector<std::string> keyspace = {"keyspace"};
  std::string text = decoded(mergeInfo(replies, keyspace, proxy));
  CHECK(text == "# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n");
  std::vector<std::string> proxy_only = {"PROXY"};
  std::vector<std::string> empty = {bulk("")};
  CHECK(decoded(mergeInfo(empty, proxy_only, proxy)).rfind("# Proxy\r\n", 0) == 0);
}

TEST_CASE("INFO stats and persistence add up counters over the primaries", "[info]") {
  ProxyInfo proxy;
  proxy.total_connections = 7;
  auto info = [](int changes, int64_t saved, const char* status, int hits, const char* kbps, int fork_usec) {
    return bulk(fmt::format(
        "# Persistence\r\nloading:0\r\nrdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:{}\r\n"
        "rdb_last_save_time:{}\r\nrdb_last_bgsave_status:{}\r\nrdb_last_bgsave_time_sec:-1\r\nrdb_saves:1\r\n\r\n"
        "# "
        "Stats\r\ntotal_connections_received:100\r\ntotal_commands_processed:{}\r\ninstantaneous_input_kbps:{}\r\n"
        "expired_keys:1\r\nkeyspace_hits:{}\r\nlatest_fork_usec:{}\r\ntotal_eviction_exceeded_time:5\r\n"
        "current_eviction_exceeded_time:3\r\n",
        changes, changes % 2, saved, status, hits * 10, kbps, hits, fork_usec));
  };
  std::vector<std::string> replies = {info(3, 1000, "ok", 1, "0.50", 10), info(4, 900, "err", 2, "1.25", 30),
                                      info(5, 1100, "ok", 3, "0.00", 20)};
  std::string text = decoded(mergeInfo(replies, std::vector<std::string>{"persistence", "stats"}, proxy));
  CHECK(text.find("rdb_changes_since_last_save:12\r\n") != std::string::npos);
  CHECK(text.find("rdb_bgsave_in_progress:1\r\n") != std::string::npos);
  CHECK(text.find("rdb_last_save_time:900\r\n") != std::string::npos);
  CHECK(text.find("rdb_last_bgsave_status:err\r\n") != std::string::npos);
  CHECK(text.find("rdb_last_bgsave_time_sec:-1\r\n") != std::string::npos);
  CHECK(text.find("rdb_saves:3\r\n") != std::string::npos);
  CHECK(text.find("loading:0\r\n") != std::string::npos);
  CHECK(text.find("total_connections_received:7\r\n") != std::string::npos);
  CHECK(text.find("total_commands_processed:60\r\n") != std::string::npos);
  CHECK(text.find("instantaneous_input_kbps:1.75\r\n") != std::string::npos);
  CHECK(text.find("expired_keys:3\r\n") != std::string::npos);
  CHECK(text.find("keyspace_hits:6\r\n") != std::string::npos);
  CHECK(text.find("latest_fork_usec:30\r\n") != std::string::npos);
  CHECK(text.find("total_eviction_exceeded_time:15\r\n") != std::string::npos);
  CHECK(text.find("current_eviction_exceeded_time:3\r\n") != std::string::npos);
}
