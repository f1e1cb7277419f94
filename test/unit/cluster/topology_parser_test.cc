#include "proxy/cluster/topology_parser.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <initializer_list>
#include <iterator>
#include <map>
#include <string>

#include "proxy/cluster/topology.h"
#include "proxy/resp/reply_scanner.h"
#include "proxy/resp/value.h"

// The *_3x1.resp files are real replies of a redis-server 7.0.15 cluster of 3 primaries with one
// replica each, captured byte for byte by tools/capture_cluster_replies.py.

namespace slotgate::cluster {
namespace {

using resp::Value;

std::string readFile(const std::string& name) {
  std::ifstream in(std::string(SLOTGATE_TEST_DATA) + "/" + name, std::ios::binary);
  REQUIRE(in.good());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Value decodeFile(const std::string& name) {
  std::string bytes = readFile(name);
  resp::ReplyScanner scanner;  // the file is exactly one reply, as the tracker would frame it
  REQUIRE(scanner.scan(bytes) == resp::ReplyScanner::Status::kComplete);
  REQUIRE(scanner.length() == bytes.size());
  std::optional<Value> v = resp::decodeValue(bytes);
  REQUIRE(v.has_value());
  return *v;
}

// Tiny RESP builders for hand-made replies.
std::string bulk(std::string_view s) { return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n"; }
std::string num(int64_t n) { return ":" + std::to_string(n) + "\r\n"; }
std::string arr(std::initializer_list<std::string> items) {
  std::string out = "*" + std::to_string(items.size()) + "\r\n";
  for (const std::string& i : items) out += i;
  return out;
}
Value decode(const std::string& bytes) {
  std::optional<Value> v = resp::decodeValue(bytes);
  REQUIRE(v.has_value());
  return *v;
}

// One CLUSTER SHARDS node entry, as Redis 7.0 sends it.
std::string shardNode(std::string id, int port, std::string ip, std::string endpoint, std::string role,
                      std::string health = "online") {
  return arr({bulk("id"), bulk(id), bulk("port"), num(port), bulk("ip"), bulk(ip), bulk("endpoint"),
              bulk(endpoint), bulk("role"), bulk(role), bulk("replication-offset"), num(0), bulk("health"),
              bulk(health)});
}
std::string shard(std::string slots, std::string nodes) {
  return arr({bulk("slots"), slots, bulk("nodes"), nodes});
}

std::optional<Topology> shards(const std::string& bytes, std::string* error = nullptr) {
  std::string ignored;
  return parseClusterShards(decode(bytes), "seed.example", error ? error : &ignored);
}
std::optional<Topology> slots(const std::string& bytes, std::string* error = nullptr) {
  std::string ignored;
  return parseClusterSlots(decode(bytes), "seed.example", error ? error : &ignored);
}

void checkRealTopology(const Topology& t) {
  CHECK(t.coveredSlots() == kSlots);
  CHECK(t.primaryCount() == 3);
  REQUIRE(t.nodes().size() == 6);
  std::map<std::string, int> replicas_of;
  for (const NodeInfo& n : t.nodes()) {
    CHECK(n.host == "127.0.0.1");
    CHECK(n.port != 0);
    CHECK(n.id.size() == 40);
    CHECK(n.healthy);
    if (!n.primary) replicas_of[n.primary_id]++;
  }
  // Every replica names a primary that exists and serves slots; one replica per primary.
  REQUIRE(replicas_of.size() == 3);
  for (const auto& [primary_id, count] : replicas_of) {
    CHECK(count == 1);
    int index = -1;
    for (size_t i = 0; i < t.nodes().size(); ++i) {
      if (t.nodes()[i].id == primary_id) index = static_cast<int>(i);
    }
    REQUIRE(index >= 0);
    CHECK(t.nodes()[index].primary);
    CHECK((t.ownerOf(0) == index || t.ownerOf(5461) == index || t.ownerOf(16383) == index));
  }
  // redis-cli --cluster create splits the slots in three even ranges.
  for (auto [first, last] : {std::pair{0, 5460}, {5461, 10922}, {10923, 16383}}) {
    int owner = t.ownerOf(first);
    REQUIRE(owner >= 0);
    CHECK(t.nodes()[owner].primary);
    CHECK(t.ownerOf(last) == owner);
    if (first > 0) CHECK(t.ownerOf(first - 1) != owner);
  }
}

}  // namespace

TEST_CASE("real CLUSTER SHARDS and CLUSTER SLOTS replies give the same slot map", "[topology]") {
  std::string error;
  std::optional<Topology> from_shards =
      parseClusterShards(decodeFile("cluster_shards_3x1.resp"), "127.0.0.1", &error);
  REQUIRE(from_shards.has_value());
  std::optional<Topology> from_slots =
      parseClusterSlots(decodeFile("cluster_slots_3x1.resp"), "127.0.0.1", &error);
  REQUIRE(from_slots.has_value());
  checkRealTopology(*from_shards);
  checkRealTopology(*from_slots);
  CHECK(from_shards->sameSlotMap(*from_slots));
  CHECK(from_slots->sameSlotMap(*from_shards));
  // describe(): one entry per primary, with its ranges and count.
  std::string d = from_slots->describe();
  for (std::string_view part :
       {"127.0.0.1:", " 0-5460 (5461 slots)", " 5461-10922 (5462 slots)", " 10923-16383 (5461 slots)"}) {
    CHECK_THAT(d, Catch::Contains(std::string(part)));
  }
}

TEST_CASE("a CLUSTER SHARDS reply in RESP3 (maps) parses like RESP2", "[topology]") {
  std::string node = "%4\r\n" + bulk("id") + bulk("abc") + bulk("port") + num(7000) + bulk("endpoint") +
                     bulk("10.0.0.1") + bulk("role") + bulk("master");
  std::string reply = "*1\r\n%2\r\n" + bulk("slots") + arr({num(0), num(16383)}) + bulk("nodes") + "*1\r\n" + node;
  std::optional<Topology> t = shards(reply);
  REQUIRE(t.has_value());
  CHECK(t->coveredSlots() == kSlots);
  REQUIRE(t->ownerOf(100) == 0);
  CHECK(t->nodes()[0].address() == "10.0.0.1:7000");
}

TEST_CASE("unknown endpoints take the host that answered", "[topology]") {
  // CLUSTER SLOTS: "" (and null, as 7.0 sends for unknown-endpoint) or "?" (hostname preferred,
  // none set).
  for (std::string host : {bulk(""), std::string("$-1\r\n"), bulk("?")}) {
    INFO(host);
    std::optional<Topology> t = slots(arr({arr({num(0), num(16383), arr({host, num(7001), bulk("id1")})})}));
    REQUIRE(t.has_value());
    REQUIRE(t->nodes().size() == 1);
    CHECK(t->nodes()[0].host == "seed.example");
    CHECK(t->nodes()[0].port == 7001);
  }
  // CLUSTER SHARDS with no address at all.
  for (std::string endpoint : {"", "?"}) {
    std::optional<Topology> t =
        shards(arr({shard(arr({num(0), num(16383)}), arr({shardNode("id1", 7001, "", endpoint, "master")}))}));
    REQUIRE(t.has_value());
    CHECK(t->nodes()[0].address() == "seed.example:7001");
  }
}

TEST_CASE("CLUSTER SHARDS: an unknown endpoint takes the answering host even when ip is set", "[topology]") {
  // Redis 7.0.15 with cluster-preferred-endpoint-type unknown-endpoint sends endpoint "" and the
  // node's ip; CLUSTER SLOTS then sends a null endpoint, which parseClusterSlots (rightly) maps to
  // the answering host, in both parsers alike (not the node's "ip" field).
  for (std::string endpoint : {"", "?"}) {
    INFO("endpoint '" << endpoint << "'");
    std::optional<Topology> t = shards(
        arr({shard(arr({num(0), num(16383)}), arr({shardNode("id1", 7001, "10.9.8.7", endpoint, "master")}))}));
    REQUIRE(t.has_value());
    CHECK(t->nodes()[0].host == "seed.example");
  }
}

TEST_CASE("a shard without a primary leaves its slots unowned; failed nodes are unhealthy", "[topology]") {
  std::string reply = arr({
      shard(arr({num(0), num(99)}), arr({shardNode("p1", 7000, "10.0.0.1", "10.0.0.1", "master"),
                                         shardNode("r1", 7001, "10.0.0.2", "10.0.0.2", "replica", "fail")})),
      shard(arr({num(100), num(199)}), arr({shardNode("r2", 7003, "10.0.0.4", "10.0.0.4", "replica")})),
  });
  std::optional<Topology> t = shards(reply);
  REQUIRE(t.has_value());
  CHECK(t->coveredSlots() == 100);
  CHECK(t->ownerOf(150) == -1);
  CHECK(t->primaryCount() == 1);
  REQUIRE(t->nodes().size() == 3);
  CHECK(t->nodes()[1].primary_id == "p1");
  CHECK_FALSE(t->nodes()[1].healthy);
}

TEST_CASE("malformed CLUSTER SHARDS replies", "[topology]") {
  const std::string primary = shardNode("p", 7000, "10.0.0.1", "10.0.0.1", "master");
  std::string no_port = arr({bulk("id"), bulk("p"), bulk("endpoint"), bulk("h"), bulk("role"), bulk("master")});
  for (const std::string& reply : {
           num(1),
           bulk("x"),
           std::string("-ERR This instance has cluster support disabled\r\n"),
           arr({arr({bulk("slots"), arr({num(0), num(5)})})}),           // no nodes
           arr({arr({bulk("nodes"), arr({primary})})}),                  // no slots
           arr({shard(bulk("0-5"), arr({primary}))}),                    // slots not an array
           arr({shard(arr({num(0), num(5), num(9)}), arr({primary}))}),  // odd slot list
           arr({shard(arr({num(0), num(16384)}), arr({primary}))}),      // out of range
           arr({shard(arr({num(-1), num(5)}), arr({primary}))}),
           arr({shard(arr({num(9), num(5)}), arr({primary}))}),  // first > last
           arr({shard(arr({num(0), num(5)}), arr({no_port}))}),  // missing port
           arr({shard(arr({num(0), num(5)}), arr({shardNode("p", 0, "h", "h", "master")}))}),
           arr({shard(arr({num(0), num(5)}), arr({shardNode("p", 65536, "h", "h", "master")}))}),
           arr({num(7)}),
       }) {
    INFO(reply);
    std::string error;
    CHECK_FALSE(shards(reply, &error).has_value());
    CHECK_FALSE(error.empty());
  }
}

TEST_CASE("malformed CLUSTER SLOTS replies", "[topology]") {
  const std::string node = arr({bulk("10.0.0.1"), num(7000), bulk("id")});
  for (const std::string& reply : {
           num(1),
           bulk("x"),
           arr({arr({num(0), num(5)})}),            // no node
           arr({arr({num(0), node})}),              // no last slot
           arr({arr({num(0), num(16384), node})}),  // out of range
           arr({arr({num(-1), num(5), node})}),
           arr({arr({num(6), num(5), node})}),
           arr({arr({num(0), num(5), arr({bulk("10.0.0.1")})})}),  // missing port
           arr({arr({num(0), num(5), arr({bulk("h"), num(0)})})}),
           arr({arr({num(0), num(5), arr({bulk("h"), num(70000)})})}),
           arr({arr({num(0), num(5), bulk("h:1")})}),  // node not an array
           arr({num(0)}),
       }) {
    INFO(reply);
    std::string error;
    CHECK_FALSE(slots(reply, &error).has_value());
    CHECK_FALSE(error.empty());
  }
}

TEST_CASE("Topology: sameSlotMap, describe, addNode, address", "[topology]") {
  auto make = [](std::initializer_list<std::tuple<int, int, std::string, uint16_t>> ranges) {
    Topology t;
    for (const auto& [first, last, host, port] : ranges) {
      NodeInfo n;
      n.host = host;
      n.port = port;
      n.primary = true;
      t.assign(first, last, t.addNode(n));
    }
    return t;
  };
  Topology a = make({{0, 8191, "10.0.0.1", 7000}, {8192, 16383, "10.0.0.2", 7000}});
  CHECK(a.sameSlotMap(a));
  // The same map built in another node order is the same.
  CHECK(a.sameSlotMap(make({{8192, 16383, "10.0.0.2", 7000}, {0, 8191, "10.0.0.1", 7000}})));
  // One slot moved, one slot missing, another port: different.
  CHECK_FALSE(a.sameSlotMap(make({{0, 8192, "10.0.0.1", 7000}, {8193, 16383, "10.0.0.2", 7000}})));
  CHECK_FALSE(a.sameSlotMap(make({{0, 8191, "10.0.0.1", 7000}, {8192, 16382, "10.0.0.2", 7000}})));
  CHECK_FALSE(a.sameSlotMap(make({{0, 8191, "10.0.0.1", 7001}, {8192, 16383, "10.0.0.2", 7000}})));
  CHECK(Topology().sameSlotMap(Topology()));
  CHECK_FALSE(Topology().sameSlotMap(a));

  CHECK(a.describe() == "10.0.0.1:7000 0-8191 (8192 slots); 10.0.0.2:7000 8192-16383 (8192 slots)");
  Topology b = make({{0, 0, "::1", 6379}, {5, 9, "::1", 6379}, {16383, 16383, "h", 1}});
  CHECK(b.describe() == "[::1]:6379 0,5-9 (6 slots); h:1 16383 (1 slots)");
  CHECK(b.coveredSlots() == 7);
  CHECK(b.ownerOf(3) == -1);
  NodeInfo idle;
  idle.host = "h2";
  idle.port = 2;
  idle.primary = true;
  b.addNode(idle);
  CHECK_THAT(b.describe(), Catch::EndsWith("h2:2 no slots (0 slots)"));

  // addNode: the same host:port is one node; a later primary mention and id fill it in.
  Topology c;
  NodeInfo replica_mention;
  replica_mention.host = "10.0.0.3";
  replica_mention.port = 7000;
  CHECK(c.addNode(replica_mention) == 0);
  NodeInfo full = replica_mention;
  full.id = "abc";
  full.primary = true;
  CHECK(c.addNode(full) == 0);
  REQUIRE(c.nodes().size() == 1);
  CHECK(c.nodes()[0].primary);
  CHECK(c.nodes()[0].id == "abc");
  CHECK(c.primaryCount() == 1);
}

}  // namespace slotgate::cluster
