// The settings of each section: io, operations, reload, users, topology.
#include "common/digest.h"
#include "config/config_loader.h"

#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "test/support/config_test_support.h"

namespace slotgate::config {
namespace {
using test::joined;
using test::load;
using test::onlyError;
}  // namespace

TEST_CASE("io.transport: auto by default, libuv or uring, nothing else", "[config]") {
  CHECK(loadString("", "t.yaml").config.io_transport == "auto");
  for (const char* name : {"auto", "libuv", "uring"}) {
    LoadResult r = loadString(std::string("io:\n  transport: ") + name + "\n", "t.yaml");
    REQUIRE(r.ok());
    CHECK(r.config.io_transport == name);
  }
  CHECK(onlyError("io:\n  transport: epoll\n") ==
        "test.yaml:2: io.transport: expected one of auto, libuv, uring, got \"epoll\"");
}

TEST_CASE("operations settings: admin, slowlog, read_from, shutdown, log format", "[config]") {
  LoadResult r = loadString(
      "admin:\n  listen: \"0.0.0.0:9200\"\nslowlog:\n  slower_than_us: 0\n  max_len: 5\n"
      "read_from: Prefer-Replica\ntimeouts:\n  shutdown_ms: 250\nlog:\n  format: json\n",
      "t.yaml");
  REQUIRE(r.ok());
  CHECK(r.config.admin_enabled);
  CHECK(r.config.admin_listen == Address{"0.0.0.0", 9200});
  CHECK(r.config.slowlog.slower_than_us == 0);
  CHECK(r.config.slowlog.max_len == 5);
  CHECK(r.config.read_from == "prefer-replica");
  CHECK(r.config.shutdown_timeout_ms == 250);
  CHECK(r.config.log_format == "json");
  CHECK_FALSE(loadString("admin:\n  listen: off\n", "t.yaml").config.admin_enabled);

  LoadResult bad = loadString("read_from: nearest\nlog:\n  format: xml\nadmin:\n  listen: nowhere\n", "b.yaml");
  REQUIRE(bad.errors.size() == 3);
  CHECK(bad.errors[0] == "b.yaml:1: read_from: expected one of master, prefer-replica, replica, got \"nearest\"");
  CHECK(bad.errors[1] == "b.yaml:3: log.format: expected one of text, json, got \"xml\"");
  CHECK(bad.errors[2] ==
        "b.yaml:5: admin.listen: expected host:port with a port from 1 to 65535, or off, got \"nowhere\"");
}

TEST_CASE("reload helpers: live keys, restart-only keys, one setting at a time", "[config]") {
  Config running;
  running.seeds = {{"127.0.0.1", 7000}};
  CHECK(isLive("log.level"));
  CHECK(isLive("read_from"));
  CHECK(isLive("slowlog.slower_than_us"));
  CHECK_FALSE(isLive("listen"));
  CHECK_FALSE(isLive("threads"));
  CHECK_FALSE(isLive("admin.listen"));
  CHECK_FALSE(isLive("nosuch"));

  Config next = running;
  next.threads = 9;
  next.listen.port = 1234;
  next.read_from = "replica";
  next.slowlog.max_len = 3;
  CHECK(restartRequired(running, next) == std::vector<std::string>{"listen", "threads"});
  Config applied = liveOnly(next, running);
  CHECK(applied.threads == running.threads);
  CHECK(applied.listen == running.listen);
  CHECK(applied.read_from == "replica");
  CHECK(applied.slowlog.max_len == 3);
  CHECK(changedSettings(running, applied) == std::vector<std::string>{"read_from=replica", "slowlog.max_len=3"});

  LoadResult set = setSetting(running, "SLOWLOG.slower_than_us", "42");
  REQUIRE(set.ok());
  CHECK(set.config.slowlog.slower_than_us == 42);
  CHECK(set.config.seeds == running.seeds);
  CHECK_FALSE(setSetting(running, "read_from", "nearest").ok());
  CHECK_FALSE(setSetting(running, "limits.max_bulk_len", "lots").ok());
  CHECK(setSetting(running, "limits.max_bulk_len", "1mb").config.limits.max_bulk_len == 1024 * 1024);
  CHECK_FALSE(setSetting(running, "seeds", "127.0.0.1:1").ok());
  CHECK_FALSE(setSetting(running, "nosuch", "1").ok());
}

}  // namespace slotgate::config

TEST_CASE("users load with hashed passwords and permissions", "[config]") {
  auto result = slotgate::config::loadString(R"(
users:
  - {name: default, password: "s3cret", permissions: admin}
  - name: reporting
    password_sha256: "2BB80D537B1DA3E38BD30361AA855686BDE0EACD7162FEF6A25FE97BF527A25B"
    permissions: read-only
    key_prefixes: ["report:", "r:"]
backend: {user: proxy, password: "p"}
scripts: {cache_size: 10}
)",
                                             "t.yaml");
  INFO(slotgate::config::joined(result.errors));
  REQUIRE(result.ok());
  const auto& users = result.config.users;
  REQUIRE(users.size() == 2);
  CHECK(users[0].name == "default");
  CHECK(users[0].permission == slotgate::config::Permission::kAdmin);
  // sha256("s3cret")
  CHECK(slotgate::common::toHex(users[0].password_sha256) ==
        "1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0");
  CHECK(users[1].permission == slotgate::config::Permission::kReadOnly);
  CHECK(slotgate::common::toHex(users[1].password_sha256) ==
        "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b");
  CHECK(users[1].key_prefixes == std::vector<std::string>{"report:", "r:"});
  CHECK(result.config.backend.user == "proxy");
  CHECK(result.config.script_cache == 10);
  // The password never shows in SLOTGATE CONFIG GET.
  for (auto& [key, value] : slotgate::config::settings(result.config)) {
    if (key == "backend.password") CHECK(value == "(set)");
  }
}

TEST_CASE("every problem with a user is listed", "[config]") {
  auto result = slotgate::config::loadString(R"(
users:
  - {name: a, permissions: superuser, password: x}
  - {password_sha256: "abc"}
  - {name: a, password: y, colour: red}
  - plain
)",
                                             "t.yaml");
  std::string all = slotgate::config::joined(result.errors);
  INFO(all);
  CHECK(all.find("users[0].permissions: expected one of read-only, read-write, admin") != std::string::npos);
  CHECK(all.find("users[1].password_sha256: expected 64 hex digits") != std::string::npos);
  CHECK(all.find("users[1].name: missing") != std::string::npos);
  CHECK(all.find("users[2].colour: unknown key") != std::string::npos);
  CHECK(all.find("users[2].name: user \"a\" listed twice") != std::string::npos);
  CHECK(all.find("users[3]: expected a map") != std::string::npos);
  CHECK(result.config.users.empty());
}

namespace slotgate::config {

TEST_CASE("topology.gossip takes YAML booleans and nothing else", "[config]") {
  for (auto [text, want] : std::vector<std::pair<std::string, bool>>{
           {"true", true}, {"false", false}, {"yes", true}, {"No", false}, {"on", true}, {"OFF", false}}) {
    LoadResult result = load("topology:\n  gossip: " + text + "\n");
    INFO(text << "\n" << joined(result.errors));
    REQUIRE(result.ok());
    CHECK(result.config.gossip == want);
  }
  std::string error = onlyError("topology:\n  gossip: 1\n");
  CHECK(error.find("topology.gossip") != std::string::npos);
  CHECK(error.find("expected true or false") != std::string::npos);
  error = onlyError("topology:\n  gossip_interval_ms: 5\n");
  CHECK(error.find("topology.gossip_interval_ms") != std::string::npos);
  error = onlyError("topology:\n  failover_wait_ms: -1\n");
  CHECK(error.find("topology.failover_wait_ms") != std::string::npos);
  CHECK(onlyError("topology:\n  gosip: true\n").find("did you mean") != std::string::npos);
}

TEST_CASE("settings() shows the gossip switch as a boolean", "[config]") {
  Config config;
  config.gossip = false;
  bool seen = false;
  for (auto& [name, value] : settings(config)) {
    if (name == "topology.gossip") {
      seen = true;
      CHECK(value == "false");
    }
  }
  CHECK(seen);
}

}  // namespace slotgate::config
