#include "proxy/cluster/topology_merge.h"

#include <catch2/catch.hpp>

#include "proxy/cluster/cluster_nodes.h"

namespace slotgate::cluster {
namespace {

const std::string kA(40, 'a'), kB(40, 'b'), kC(40, 'c');

NodeInfo node(const std::string& id, uint16_t port, bool primary, uint64_t epoch) {
  NodeInfo n;
  n.id = id;
  n.host = "127.0.0.1";
  n.port = port;
  n.primary = primary;
  n.config_epoch = epoch;
  return n;
}

// A owns 0-99 (epoch ea), B owns 100-199 (epoch eb), C a replica of A.
Topology map(uint64_t ea, uint64_t eb, bool b_owns_low = false) {
  Topology t;
  int a = t.addNode(node(kA, 7000, !b_owns_low, ea));
  int b = t.addNode(node(kB, 7001, true, eb));
  t.addNode(node(kC, 7002, false, 0));
  t.assign(0, 99, b_owns_low ? b : a);
  t.assign(100, 199, b);
  return t;
}

}  // namespace

TEST_CASE("CLUSTER NODES gives bus ports, epochs and failure flags", "[merge]") {
  std::string text =
      "07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004,host-4 slave "
      "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected\n"
      "67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 master,fail - 0 1426238316232 2 "
      "disconnected 5461-10922\n"
      "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca ::1:30001@31001 myself,master - 0 0 1 connected 0-5460 "
      "[5461->-67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1]\r\n"
      "292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f :0@0 master,fail?,noaddr - 0 0 0 disconnected\n";
  std::vector<ClusterNodesEntry> entries;
  std::string error;
  REQUIRE(parseClusterNodes(text, &entries, &error));
  REQUIRE(entries.size() == 4);
  CHECK(entries[0].host == "127.0.0.1");
  CHECK(entries[0].port == 30004);
  CHECK(entries[0].cport == 31004);
  CHECK_FALSE(entries[0].master);
  CHECK(entries[0].master_id == "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca");
  CHECK(entries[0].config_epoch == 4);
  CHECK(entries[1].fail);
  CHECK(entries[1].master);
  CHECK(entries[2].host == "::1");
  CHECK(entries[2].myself);
  CHECK(entries[3].pfail);
  CHECK_FALSE(entries[3].fail);
  CHECK(entries[3].host.empty());

  CHECK_FALSE(parseClusterNodes("abc 127.0.0.1:1@2 master\n", &entries, &error));
  CHECK_FALSE(parseClusterNodes("abc 127.0.0.1 master - 0 0 1 connected\n", &entries, &error));
  CHECK_FALSE(parseClusterNodes("abc 127.0.0.1:1@2 master - 0 0 x connected\n", &entries, &error));

  Topology t;
  NodeInfo n = node("67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1", 30002, true, 0);
  t.addNode(n);
  REQUIRE(parseClusterNodes(text, &entries, &error));
  annotate(t, entries);
  CHECK(t.nodes()[0].cport == 31002);
  CHECK(t.nodes()[0].config_epoch == 2);
  CHECK(t.nodes()[0].failing);
}

TEST_CASE("the first map is taken as it is", "[merge]") {
  MergeResult r = mergeByEpoch(nullptr, map(1, 2), kC);
  CHECK(r.kept_slots == 0);
  CHECK(r.topology.sameView(map(1, 2)));
}

TEST_CASE("a newer claim in the answer wins", "[merge]") {
  Topology current = map(1, 2);
  Topology fresh = map(1, 3, /*b_owns_low=*/true);  // B took A's slots with a higher epoch
  MergeResult r = mergeByEpoch(&current, fresh, kC);
  CHECK(r.kept_slots == 0);
  CHECK(r.topology.ownerOf(50) == r.topology.findById(kB));
}

TEST_CASE("a stale answer does not take slots back from a newer owner", "[merge]") {
  Topology current = map(1, 5, /*b_owns_low=*/true);  // B owns everything since epoch 5
  Topology stale = map(1, 2);                         // C still believes A (epoch 1) owns 0-99
  MergeResult r = mergeByEpoch(&current, stale, kC);
  CHECK(r.kept_slots == 100);
  int b = r.topology.findById(kB);
  CHECK(r.topology.ownerOf(0) == b);
  CHECK(r.topology.ownerOf(99) == b);
  CHECK(r.topology.nodes()[static_cast<size_t>(b)].config_epoch == 5);
}

TEST_CASE("the current owner's own answer is believed when it gave slots up", "[merge]") {
  Topology current = map(1, 5, true);
  Topology answer = map(1, 2);
  MergeResult r = mergeByEpoch(&current, answer, kB);
  CHECK(r.kept_slots == 0);
  CHECK(r.topology.ownerOf(0) == r.topology.findById(kA));
}

TEST_CASE("owners that left the cluster or have unknown epochs are not kept", "[merge]") {
  Topology current = map(1, 5, true);
  SECTION("B left") {
    Topology fresh;
    int a = fresh.addNode(node(kA, 7000, true, 1));
    fresh.assign(0, 199, a);
    MergeResult r = mergeByEpoch(&current, fresh, kA);
    CHECK(r.kept_slots == 0);
    CHECK(r.topology.ownerOf(150) == a);
  }
  SECTION("epochs unknown") {
    Topology fresh = map(0, 0);
    MergeResult r = mergeByEpoch(&current, fresh, kC);
    CHECK(r.kept_slots == 0);
    CHECK(r.topology.ownerOf(0) == r.topology.findById(kA));
  }
}

}  // namespace slotgate::cluster

namespace slotgate::cluster {

TEST_CASE("an answer that lost track of a slot does not take it away", "[merge]") {
  Topology current = map(1, 2);
  SECTION("the owner is still in the answer") {
    Topology fresh;
    int a = fresh.addNode(node(kA, 7000, true, 1));
    fresh.addNode(node(kB, 7001, true, 2));
    fresh.assign(0, 99, a);  // 100-199 unowned in this node's view
    MergeResult r = mergeByEpoch(&current, fresh, kA);
    CHECK(r.kept_slots == 100);
    CHECK(r.topology.ownerOf(150) == r.topology.findById(kB));
    CHECK(r.topology.coveredSlots() == 200);
  }
  SECTION("the answer forgot the owner") {
    Topology fresh;
    int a = fresh.addNode(node(kA, 7000, true, 1));
    fresh.assign(0, 99, a);
    MergeResult r = mergeByEpoch(&current, fresh, kA);
    int b = r.topology.findById(kB);
    REQUIRE(b >= 0);
    CHECK(r.topology.nodes()[static_cast<size_t>(b)].primary);
    CHECK(r.topology.ownerOf(199) == b);
  }
}

}  // namespace slotgate::cluster
