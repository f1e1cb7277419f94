#include <catch2/catch.hpp>

#include <string>

#include "common/histogram.h"
#include "proxy/admin/metrics.h"
#include "proxy/admin/topology_json.h"

using namespace slotgate;

TEST_CASE("histogram buckets are ordered and quantiles land in the right bucket", "[admin]") {
  common::Histogram h;
  for (int i = 0; i + 2 < common::Histogram::kBuckets; ++i) {
    CHECK(common::Histogram::upperBound(i) < common::Histogram::upperBound(i + 1));
  }
  CHECK(common::Histogram::bucketOf(0) == 0);
  CHECK(common::Histogram::bucketOf(1) == 0);
  CHECK(common::Histogram::upperBound(common::Histogram::bucketOf(1000)) >= 1000);
  CHECK(common::Histogram::upperBound(common::Histogram::bucketOf(1000)) < 1200);
  CHECK(h.quantile(0.5) == 0);
  for (int i = 0; i < 98; ++i) h.record(100);
  h.record(50000);
  h.record(50000);
  CHECK(h.count() == 100);
  CHECK(h.sumMicros() == 98 * 100 + 100000);
  CHECK(h.quantile(0.5) >= 100);
  CHECK(h.quantile(0.5) < 120);
  CHECK(h.quantile(0.99) >= 50000);
  CHECK(h.quantile(0.99) < 60000);
  common::Histogram other;
  other.record(UINT64_MAX / 2);  // past the last bound: +Inf bucket
  h.add(other);
  CHECK(h.count() == 101);
  CHECK(h.bucketCount(common::Histogram::kBuckets - 1) == 1);
}

TEST_CASE("metrics merge across workers and render as Prometheus text", "[admin]") {
  admin::WorkerMetrics a, b, merged;
  a.session = {{"connected_clients", "clients connected now", 2}, {"total_commands_processed", "cmds", 10}};
  b.session = {{"connected_clients", "clients connected now", 3}, {"total_commands_processed", "cmds", 5}};
  a.commands["get"] = {7, 1, 700};
  b.commands["get"] = {3, 0, 300};
  b.commands["config|get"] = {1, 0, 10};
  a.nodes["127.0.0.1:7000"] = {1, 2, 1, 0, 4, 0, {}};
  b.nodes["127.0.0.1:7000"] = {1, 1, 0, 3, 0, 1, {}};
  a.latency.record(100);
  b.latency.record(300);
  admin::mergeInto(merged, a);
  admin::mergeInto(merged, b);
  admin::ProcessMetrics p;
  p.version = "1.2.3";
  p.cluster = {{"refreshes_redirect", "refreshes asked for by MOVED", 4}};
  std::string text = admin::renderPrometheus(p, merged);
  CHECK(text.find("# TYPE slotgate_session_connected_clients gauge\nslotgate_session_connected_clients 5\n") !=
        std::string::npos);
  CHECK(text.find("slotgate_session_total_commands_processed_total 15\n") != std::string::npos);
  CHECK(text.find("slotgate_commands_total{cmd=\"get\"} 10\n") != std::string::npos);
  CHECK(text.find("slotgate_command_errors_total{cmd=\"get\"} 1\n") != std::string::npos);
  CHECK(text.find("slotgate_commands_total{cmd=\"config|get\"} 1\n") != std::string::npos);
  CHECK(text.find("slotgate_backend_connections{node=\"127.0.0.1:7000\"} 2\n") != std::string::npos);
  CHECK(text.find("slotgate_backend_reconnects_total{node=\"127.0.0.1:7000\"} 1\n") != std::string::npos);
  CHECK(text.find("slotgate_backend_down{node=\"127.0.0.1:7000\"} 1\n") != std::string::npos);
  CHECK(text.find("slotgate_request_duration_seconds_count 2\n") != std::string::npos);
  CHECK(text.find("slotgate_request_duration_seconds_bucket{le=\"+Inf\"} 2\n") != std::string::npos);
  CHECK(text.find("slotgate_request_duration_seconds_p99 ") != std::string::npos);
  CHECK(text.find("slotgate_cluster_refreshes_redirect_total 4\n") != std::string::npos);
  CHECK(text.find("slotgate_info{version=\"1.2.3\"} 1\n") != std::string::npos);
  // Every sample line is "name[{labels}] number".
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line[0] == '#') continue;
    size_t space = line.rfind(' ');
    INFO(line);
    REQUIRE(space != std::string::npos);
    CHECK_NOTHROW(std::stod(line.substr(space + 1)));
  }
}

TEST_CASE("topology JSON lists nodes with their slot ranges", "[admin]") {
  CHECK(admin::topologyJson(nullptr) == "{\"slots_covered\":0,\"nodes\":[]}\n");
  cluster::Topology t;
  int a = t.addNode({"id-a", "10.0.0.1", 7000, true, "", true});
  t.addNode({"id-b", "10.0.0.2", 7001, false, "id-a", false});
  t.assign(0, 99, a);
  t.assign(200, 300, a);
  std::string json = admin::topologyJson(&t);
  CHECK(json.find("\"slots_covered\":201") != std::string::npos);
  CHECK(json.find("\"address\":\"10.0.0.1:7000\",\"role\":\"primary\",\"primary_id\":null,\"health\":\"online\","
                  "\"slots\":201,\"slot_ranges\":[[0,99],[200,300]]") != std::string::npos);
  CHECK(json.find("\"role\":\"replica\",\"primary_id\":\"id-a\",\"health\":\"failed\",\"slots\":0") !=
        std::string::npos);
  CHECK(admin::jsonString("a\"b\\c\n") == "\"a\\\"b\\\\c\\u000a\"");
}
