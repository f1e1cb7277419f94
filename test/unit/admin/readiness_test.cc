#include <catch2/catch.hpp>

#include <string>

#include "proxy/admin/readiness.h"

using namespace slotgate;

namespace {

cluster::NodeInfo primary(std::string id, uint16_t port) {
  cluster::NodeInfo node;
  node.id = std::move(id);
  node.host = "127.0.0.1";
  node.port = port;
  node.primary = true;
  return node;
}

cluster::Topology twoPrimaries(bool assign_all = true) {
  cluster::Topology topology;
  int a = topology.addNode(primary("a", 7000));
  int b = topology.addNode(primary("b", 7001));
  topology.assign(0, 8191, a);
  topology.assign(8192, assign_all ? cluster::kSlots - 1 : cluster::kSlots - 11, b);
  return topology;
}

}  // namespace

TEST_CASE("ready when every slot has a live owner", "[admin]") {
  cluster::Topology topology = twoPrimaries();
  admin::Readiness verdict = admin::judgeReadiness(&topology, false, nullptr);
  CHECK(verdict.ready);
  CHECK(verdict.why.empty());
  admin::WorkerMetrics seen;
  seen.nodes["127.0.0.1:7000"].connected = 1;
  CHECK(admin::judgeReadiness(&topology, false, &seen).ready);
}

TEST_CASE("not ready while draining or without a topology", "[admin]") {
  cluster::Topology topology = twoPrimaries();
  admin::Readiness draining = admin::judgeReadiness(&topology, true, nullptr);
  CHECK_FALSE(draining.ready);
  CHECK(draining.why == "draining: shutting down");
  admin::Readiness none = admin::judgeReadiness(nullptr, false, nullptr);
  CHECK_FALSE(none.ready);
  CHECK(none.why == "no cluster topology yet");
}

TEST_CASE("slots without an owner, or with a failed or unreachable one, make it not ready", "[admin]") {
  cluster::Topology gap = twoPrimaries(false);
  admin::Readiness verdict = admin::judgeReadiness(&gap, false, nullptr);
  CHECK_FALSE(verdict.ready);
  CHECK(verdict.why == "10 slot(s) without an owner, 0 slot(s) whose owner is failed or unreachable");

  cluster::Topology failing = twoPrimaries();
  failing.node(1).failing = true;
  verdict = admin::judgeReadiness(&failing, false, nullptr);
  CHECK_FALSE(verdict.ready);
  CHECK(verdict.why == "0 slot(s) without an owner, 8192 slot(s) whose owner is failed or unreachable");

  cluster::Topology topology = twoPrimaries();
  admin::WorkerMetrics seen;
  seen.nodes["127.0.0.1:7000"].down = 1;
  verdict = admin::judgeReadiness(&topology, false, &seen);
  CHECK_FALSE(verdict.ready);
  CHECK(verdict.why == "0 slot(s) without an owner, 8192 slot(s) whose owner is failed or unreachable");
}

TEST_CASE("an owner the workers cannot reach is named with the reason", "[admin]") {
  cluster::Topology topology = twoPrimaries();
  admin::WorkerMetrics seen;
  seen.nodes["127.0.0.1:7001"].down = 1;
  seen.nodes["127.0.0.1:7001"].last_error = "TLS certificate verify failed: certificate has expired";
  admin::Readiness verdict = admin::judgeReadiness(&topology, false, &seen);
  CHECK_FALSE(verdict.ready);
  CHECK(verdict.why ==
        "0 slot(s) without an owner, 8192 slot(s) whose owner is failed or unreachable; 127.0.0.1:7001: TLS "
        "certificate verify failed: certificate has expired");
}
