// Tests for the YAML loader: what loads, defaults, the example file, listeners and files.
#include "config/config_loader.h"
#include "common/digest.h"

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
const std::string kExamplePath = std::string(__FILE__).substr(0, std::string(__FILE__).rfind('/')) +
                                 "/../../../config/slotgate.example.yaml";
}  // namespace

TEST_CASE("empty input gives the defaults", "[config]") {
  for (std::string_view yaml : {"", "# only a comment\n", "---\n", "\n\n"}) {
    LoadResult result = load(yaml);
    INFO(joined(result.errors));
    CHECK(result.ok());
    CHECK(result.config.listen == Address{"127.0.0.1", 7777});
    CHECK(result.config.seeds.empty());
    CHECK(result.config.threads == 0);
    CHECK(result.config.connect_timeout_ms == 1000);
    CHECK(result.config.backend_timeout_ms == 5000);
    CHECK(result.config.max_redirects == 5);
    CHECK(result.config.refresh_interval_ms == 10000);
    CHECK(result.config.gossip);
    CHECK(result.config.gossip_interval_ms == 500);
    CHECK(result.config.failover_wait_ms == 10000);
    CHECK(result.config.log_level == "info");
    CHECK(result.config.limits.max_bulk_len == 512u * 1024 * 1024);
    CHECK(result.config.limits.client_output_buffer == 64u * 1024 * 1024);
    CHECK(result.config.limits.client_output_buffer_soft == 0);
    CHECK(result.config.limits.max_clients == 10000);
    CHECK(result.config.limits.maxmemory == 0);
    CHECK(result.config.client_idle_s == 0);
    CHECK(result.config.protected_mode);
  }
}

TEST_CASE("a full valid file sets every field", "[config]") {
  LoadResult result = load(R"(
listen: "0.0.0.0:6380"
seeds:
  - 10.0.0.1:7000
  - "[::1]:7001"
  - redis-0.redis.svc:6379
threads: 8
timeouts:
  connect_ms: 250
  backend_ms: 3000
  client_idle_s: 300
protected_mode: no
max_redirects: 0
topology:
  refresh_interval_ms: 60000
  gossip: false
  gossip_interval_ms: 250
  failover_wait_ms: 3000
log:
  level: DEBUG
limits:
  max_bulk_len: 1gb
  max_inline_len: 4096
  max_args: 1000
  max_pipeline: 64
  client_output_buffer: 256MB
  client_output_buffer_soft: 32mb
  client_output_buffer_soft_seconds: 10
  max_clients: 50000
  maxmemory: 2gb
)");
  INFO(joined(result.errors));
  REQUIRE(result.ok());
  const Config& c = result.config;
  CHECK(c.listen == Address{"0.0.0.0", 6380});
  REQUIRE(c.seeds.size() == 3);
  CHECK(c.seeds[0] == Address{"10.0.0.1", 7000});
  CHECK(c.seeds[1] == Address{"::1", 7001});
  CHECK(c.seeds[2] == Address{"redis-0.redis.svc", 6379});
  CHECK(c.threads == 8);
  CHECK(c.connect_timeout_ms == 250);
  CHECK(c.backend_timeout_ms == 3000);
  CHECK(c.max_redirects == 0);
  CHECK(c.refresh_interval_ms == 60000);
  CHECK_FALSE(c.gossip);
  CHECK(c.gossip_interval_ms == 250);
  CHECK(c.failover_wait_ms == 3000);
  CHECK(c.log_level == "debug");
  CHECK(c.limits.max_bulk_len == 1024u * 1024 * 1024);
  CHECK(c.limits.max_inline_len == 4096);
  CHECK(c.limits.max_args == 1000);
  CHECK(c.limits.max_pipeline == 64);
  CHECK(c.limits.client_output_buffer == 256u * 1024 * 1024);
  CHECK(c.limits.client_output_buffer_soft == 32u * 1024 * 1024);
  CHECK(c.limits.client_output_buffer_soft_seconds == 10);
  CHECK(c.limits.max_clients == 50000);
  CHECK(c.limits.maxmemory == 2ull * 1024 * 1024 * 1024);
  CHECK(c.client_idle_s == 300);
  CHECK_FALSE(c.protected_mode);
  CHECK(validate(c).empty());
}

TEST_CASE("the example file loads cleanly and documents the defaults", "[config]") {
  LoadResult result = loadFile(kExamplePath);
  INFO(kExamplePath << "\n" << joined(result.errors));
  REQUIRE(result.ok());
  CHECK(validate(result.config).empty());
  // Apart from the sample seeds, the example must show exactly the built-in defaults.
  Config defaults;
  Config loaded = result.config;
  CHECK_FALSE(loaded.seeds.empty());
  loaded.seeds.clear();
  CHECK(loaded.listen == defaults.listen);
  CHECK(loaded.threads == defaults.threads);
  CHECK(loaded.connect_timeout_ms == defaults.connect_timeout_ms);
  CHECK(loaded.backend_timeout_ms == defaults.backend_timeout_ms);
  CHECK(loaded.max_redirects == defaults.max_redirects);
  CHECK(loaded.refresh_interval_ms == defaults.refresh_interval_ms);
  CHECK(loaded.gossip == defaults.gossip);
  CHECK(loaded.gossip_interval_ms == defaults.gossip_interval_ms);
  CHECK(loaded.failover_wait_ms == defaults.failover_wait_ms);
  CHECK(loaded.log_level == defaults.log_level);
  CHECK(loaded.limits.max_bulk_len == defaults.limits.max_bulk_len);
  CHECK(loaded.limits.max_inline_len == defaults.limits.max_inline_len);
  CHECK(loaded.limits.max_args == defaults.limits.max_args);
  CHECK(loaded.limits.max_pipeline == defaults.limits.max_pipeline);
  CHECK(loaded.limits.client_output_buffer == defaults.limits.client_output_buffer);
  CHECK(loaded.limits.client_output_buffer_soft == defaults.limits.client_output_buffer_soft);
  CHECK(loaded.limits.client_output_buffer_soft_seconds == defaults.limits.client_output_buffer_soft_seconds);
  CHECK(loaded.limits.max_clients == defaults.limits.max_clients);
  CHECK(loaded.limits.maxmemory == defaults.limits.maxmemory);
  CHECK(loaded.client_idle_s == defaults.client_idle_s);
  CHECK(loaded.protected_mode == defaults.protected_mode);
  CHECK(loaded.listen_enabled == defaults.listen_enabled);
  CHECK(loaded.unix_socket == defaults.unix_socket);
  CHECK(loaded.gossip_tls == defaults.gossip_tls);
  CHECK(loaded.tls.enabled == defaults.tls.enabled);
  CHECK(loaded.tls.verify_clients == defaults.tls.verify_clients);
  CHECK(loaded.tls.min_version == defaults.tls.min_version);
  CHECK(loaded.backend_tls.enabled == defaults.backend_tls.enabled);
  CHECK(loaded.backend_tls.verify == defaults.backend_tls.verify);
  CHECK(loaded.backend_tls.min_version == defaults.backend_tls.min_version);
  CHECK(loaded.unix_socket_perm == defaults.unix_socket_perm);
}

TEST_CASE("unix_socket, unix_socket_perm and listen: off", "[config]") {
  LoadResult result = load(
      "unix_socket: /run/slotgate/s.sock\nunix_socket_perm: \"0600\"\nlisten: off\n"
      "seeds: [\"10.0.0.1:7000\"]\n");
  INFO(joined(result.errors));
  REQUIRE(result.ok());
  CHECK(result.config.unix_socket == "/run/slotgate/s.sock");
  CHECK(result.config.unix_socket_perm == 0600);
  CHECK_FALSE(result.config.listen_enabled);
  CHECK(validate(result.config).empty());
  auto all = settings(result.config);
  CHECK(std::find(all.begin(), all.end(), std::pair<std::string, std::string>{"unix_socket_perm", "0600"}) !=
        all.end());
  CHECK(std::find(all.begin(), all.end(), std::pair<std::string, std::string>{"listen", "off"}) != all.end());
  // Unquoted, YAML still hands over the digits; 660 reads as octal too, like redis.conf.
  CHECK(load("unix_socket_perm: 0660\n").config.unix_socket_perm == 0660);
  CHECK(load("unix_socket_perm: 777\n").config.unix_socket_perm == 0777);
  for (std::string_view bad : {"unix_socket_perm: \"0999\"\n", "unix_socket_perm: 01000\n",
                               "unix_socket_perm: rw\n", "unix_socket_perm: [1]\n"}) {
    std::string error = onlyError(bad);
    INFO(bad);
    CHECK(error.find("unix_socket_perm") != std::string::npos);
    CHECK(error.find("octal") != std::string::npos);
  }
  // Every problem at once: listen off with no socket, a path too long for sockaddr_un.
  Config c;
  c.seeds.push_back({"10.0.0.1", 7000});
  c.listen_enabled = false;
  auto problems = validate(c);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].find("nothing would serve clients") != std::string::npos);
  c.listen_enabled = true;
  c.unix_socket = "/tmp/" + std::string(120, 'x');
  problems = validate(c);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].find("at most 107") != std::string::npos);
  // Restart-only: a reload keeps the running socket.
  Config next = c;
  next.unix_socket = "/tmp/other.sock";
  CHECK(liveOnly(next, c).unix_socket == c.unix_socket);
  CHECK(restartRequired(c, next) == std::vector<std::string>{"unix_socket"});
}

TEST_CASE("protected_mode refuses a non-loopback listen address unless turned off", "[config]") {
  for (const char* host : {"0.0.0.0", "10.1.2.3", "::", "2001:db8::1"}) {
    Config c;
    c.seeds.push_back({"10.0.0.1", 7000});
    c.listen = {host, 7777};
    INFO(host);
    auto problems = validate(c);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].starts_with("protected_mode: listen address "));
    c.protected_mode = false;
    CHECK(validate(c).empty());
  }
  for (const char* host : {"127.0.0.1", "127.9.8.7", "::1", "::ffff:127.0.0.1"}) {
    Config c;
    c.seeds.push_back({"10.0.0.1", 7000});
    c.listen = {host, 7777};
    INFO(host);
    CHECK(validate(c).empty());
  }
  CHECK(isLoopbackHost("127.0.0.1"));
  CHECK_FALSE(isLoopbackHost("128.0.0.1"));
  CHECK_FALSE(isLoopbackHost("localhost"));  // names are not resolved here
}

TEST_CASE("streams yaml-cpp's LoadAll loops on end with an error", "[config]") {
  // A stray ',' at the top level made YAML::LoadAll loop for ever (found by fuzz_config).
  for (std::string_view yaml : {",", ",imits:\n  max_bluk 2\nlog: {level:D}\n", "a: 1\n,\n"}) {
    LoadResult result = load(yaml);
    INFO(yaml);
    CHECK_FALSE(result.ok());
  }
}

TEST_CASE("booleans and the soft output limit", "[config]") {
  for (const char* yes : {"true", "yes", "On", "TRUE"}) {
    LoadResult r = load(std::string("protected_mode: ") + yes + "\n");
    INFO(yes);
    CHECK(r.ok());
    CHECK(r.config.protected_mode);
  }
  for (const char* no : {"false", "no", "off"}) {
    LoadResult r = load(std::string("protected_mode: ") + no + "\n");
    CHECK(r.ok());
    CHECK_FALSE(r.config.protected_mode);
  }
  CHECK(onlyError("protected_mode: 2\n") == "test.yaml:1: protected_mode: expected true or false, got \"2\"");
  Config c;
  c.seeds.push_back({"10.0.0.1", 7000});
  c.limits.client_output_buffer_soft = c.limits.client_output_buffer + 1;
  auto problems = validate(c);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].starts_with("limits.client_output_buffer_soft: "));
}

TEST_CASE("loadFile reports an unreadable file once, naming the path", "[config]") {
  LoadResult missing = loadFile("/nonexistent/slotgate.yaml");
  REQUIRE(missing.errors.size() == 1);
  CHECK(missing.errors[0].starts_with("/nonexistent/slotgate.yaml: "));
  CHECK(missing.errors[0].find("No such file") != std::string::npos);

  LoadResult directory = loadFile(SLOTGATE_TEST_DATA);
  REQUIRE(directory.errors.size() == 1);
  CHECK(directory.errors[0].starts_with(SLOTGATE_TEST_DATA ": "));
}

TEST_CASE("loadFile uses the path in messages", "[config]") {
  char name[] = "/tmp/slotgate_config_test_XXXXXX";
  int fd = mkstemp(name);
  REQUIRE(fd >= 0);
  close(fd);
  std::string path = name;
  {
    std::ofstream out(path);
    out << "threads: 4\nmax_redirects: many\n";
  }
  LoadResult result = loadFile(path);
  std::remove(path.c_str());
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0] == path + ":2: max_redirects: expected an integer from 0 to 100, got \"many\"");
  CHECK(result.config.threads == 4);
}

}  // namespace slotgate::config
