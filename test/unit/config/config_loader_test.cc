// Tests for the YAML loader, address parsing and validate(): what loads, and that every kind of
// mistake is reported with its line and dotted key, all at once.
#include "config/config_loader.h"
#include "common/digest.h"

#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace slotgate::config {
namespace {

const std::string kExamplePath = std::string(__FILE__).substr(0, std::string(__FILE__).rfind('/')) +
                                 "/../../../config/slotgate.example.yaml";

LoadResult load(std::string_view yaml) { return loadString(yaml, "test.yaml"); }

// The single error of a load that must have exactly one.
std::string onlyError(std::string_view yaml) {
  LoadResult result = load(yaml);
  INFO(yaml);
  REQUIRE(result.errors.size() == 1);
  return result.errors[0];
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

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

TEST_CASE("each kind of problem names the source, line and key", "[config]") {
  SECTION("syntax error") {
    std::string error = onlyError("threads: 1\nlimits:\n  max_args: [1, 2\n");
    CHECK(error.starts_with("test.yaml:"));
    CHECK(error.find("YAML syntax error") != std::string::npos);
  }
  SECTION("syntax error line") {
    CHECK(onlyError("threads: 1\n  bad: indent\nx: 1\n") == "test.yaml:2: YAML syntax error: illegal map value");
    CHECK(onlyError("log:\n  level: info\n\tx: 1\n").starts_with("test.yaml:3: YAML syntax error: "));
    CHECK(onlyError("threads: *nope\n").starts_with("test.yaml:1: YAML syntax error: "));
  }
  SECTION("top level not a map") {
    CHECK(onlyError("- a\n- b\n") == "test.yaml:1: expected a map of settings at the top level, got a list");
    CHECK(onlyError("just words") ==
          "test.yaml:1: expected a map of settings at the top level, got \"just words\"");
  }
  SECTION("unknown key at the top level, with a suggestion") {
    CHECK(onlyError("threads: 2\nthread: 3\n") == "test.yaml:2: thread: unknown key; did you mean \"threads\"?");
    CHECK(onlyError("frobnicate: 1\n") == "test.yaml:1: frobnicate: unknown key");
  }
  SECTION("unknown key in a section") {
    CHECK(onlyError("timeouts:\n  connect_ms: 5\n  conect_ms: 6\n") ==
          "test.yaml:3: timeouts.conect_ms: unknown key; did you mean \"timeouts.connect_ms\"?");
    CHECK(onlyError("limits:\n  max_bluk_len: 5\n") ==
          "test.yaml:2: limits.max_bluk_len: unknown key; did you mean \"limits.max_bulk_len\"?");
  }
  SECTION("a key in the wrong section is pointed at its home") {
    CHECK(onlyError("connect_ms: 100\n") ==
          "test.yaml:1: connect_ms: unknown key; did you mean \"timeouts.connect_ms\"?");
  }
  SECTION("dotted names are not a way to nest") {
    CHECK(onlyError("timeouts.connect_ms: 100\n").starts_with("test.yaml:1: timeouts.connect_ms: unknown key"));
  }
  SECTION("non-integer") {
    CHECK(onlyError("\n\n\n\n\n\ntimeouts:\n  connect_ms: abc\n") ==
          "test.yaml:8: timeouts.connect_ms: expected an integer from 1 to 600000, got \"abc\"");
  }
  SECTION("strict integers") {
    for (std::string_view bad :
         {"1.5", "1e3", "10ms", "0x10", "+5", "-1", "1 000", "true", "yes", "\"\"", "99999999999999999999999"}) {
      std::string yaml = "max_redirects: " + std::string(bad) + "\n";
      std::string error = onlyError(yaml);
      CHECK(error.starts_with("test.yaml:1: max_redirects: expected an integer from 0 to 100, got "));
    }
  }
  SECTION("out of range") {
    CHECK(onlyError("threads: 257\n") == "test.yaml:1: threads: expected an integer from 0 to 256, got \"257\"");
    CHECK(onlyError("topology:\n  refresh_interval_ms: 99\n") ==
          "test.yaml:2: topology.refresh_interval_ms: expected an integer from 100 to 86400000, "
          "got \"99\"");
    CHECK(onlyError("limits:\n  max_pipeline: 0\n")
              .starts_with("test.yaml:2: limits.max_pipeline: expected an integer from 1 to 1000000"));
  }
  SECTION("a map or list where a scalar belongs") {
    CHECK(onlyError("threads:\n  count: 4\n") ==
          "test.yaml:1: threads: expected an integer from 0 to 256, got a map");
    CHECK(onlyError("listen: [a, b]\n") ==
          "test.yaml:1: listen: expected host:port with a port from 1 to 65535, got a list");
    CHECK(onlyError("threads:\n") == "test.yaml:1: threads: expected an integer from 0 to 256, got no value");
  }
  SECTION("a scalar where a list or a section belongs") {
    CHECK(onlyError("seeds: 127.0.0.1:7000\n") ==
          "test.yaml:1: seeds: expected a list of host:port addresses, got \"127.0.0.1:7000\"");
    CHECK(onlyError("timeouts: 5\n") == "test.yaml:1: timeouts: expected a map of settings, got \"5\"");
  }
  SECTION("an empty section keeps the defaults") {
    LoadResult result = load("limits:\nlog:\n");
    CHECK(result.ok());
    CHECK(result.config.limits.max_pipeline == 1024);
  }
  SECTION("bad addresses") {
    CHECK(onlyError("listen: localhost\n") ==
          "test.yaml:1: listen: expected host:port with a port from 1 to 65535, got \"localhost\"");
    CHECK(onlyError("seeds:\n  - a:1\n  - b:0\n  - c:3\n") ==
          "test.yaml:3: seeds[1]: expected host:port with a port from 1 to 65535, got \"b:0\"");
    CHECK(onlyError("seeds:\n  - a:1\n  -\n") ==
          "test.yaml:1: seeds[1]: expected host:port with a port from 1 to 65535, got no value");
    CHECK(onlyError("seeds: [a:1, [x]]\n") ==
          "test.yaml:1: seeds[1]: expected host:port with a port from 1 to 65535, got a list");
  }
  SECTION("bad log level") {
    CHECK(onlyError("log:\n  level: verbose\n") ==
          "test.yaml:2: log.level: expected one of trace, debug, info, warn, error, critical, off, "
          "got \"verbose\"");
  }
  SECTION("duplicate key") {
    CHECK(onlyError("threads: 1\nlog:\n  level: info\nthreads: 2\n") ==
          "test.yaml:4: threads: duplicate key (first set on line 1)");
  }
  SECTION("non-scalar key") {
    CHECK(onlyError("limits:\n  ? [a]\n  : 1\n").starts_with("test.yaml:2: limits: expected a key name"));
  }
  SECTION("several documents") {
    CHECK(onlyError("threads: 1\n---\nthreads: 2\n").starts_with("test.yaml:3: expected one YAML document"));
  }
  SECTION("long values are cut") {
    std::string error = onlyError("threads: " + std::string(500, '7') + "\n");
    CHECK(error.size() < 200);
  }
}

TEST_CASE("every problem is reported at once, in document order", "[config]") {
  LoadResult result = load(R"(listen: nowhere
seeds: ["a:1", "b:99999"]
threads: -2
timeouts:
  connect_ms: 0
  backend_ms: 5000
  idle_ms: 10
max_redirects: 5
log:
  level: loud
limits:
  max_bulk_len: 5gb
  max_args: 10
  client_output_buffer: 512
bogus: true
)");
  INFO(joined(result.errors));
  REQUIRE(result.errors.size() == 9);
  CHECK(result.errors[0].starts_with("test.yaml:1: listen: "));
  CHECK(result.errors[1].starts_with("test.yaml:2: seeds[1]: "));
  CHECK(result.errors[2].starts_with("test.yaml:3: threads: "));
  CHECK(result.errors[3].starts_with("test.yaml:5: timeouts.connect_ms: "));
  CHECK(result.errors[4] == "test.yaml:7: timeouts.idle_ms: unknown key");
  CHECK(result.errors[5].starts_with("test.yaml:10: log.level: "));
  CHECK(result.errors[6] ==
        "test.yaml:12: limits.max_bulk_len: expected a size from 1 to 4gb (bytes, or with a "
        "k/kb/m/mb/g/gb suffix), got \"5gb\"");
  CHECK(
      result.errors[7].starts_with("test.yaml:14: limits.client_output_buffer: expected a size "
                                   "from 1kb to 64gb"));
  CHECK(result.errors[8] == "test.yaml:15: bogus: unknown key");
  // Good values around the bad ones still load; bad ones keep their defaults.
  CHECK(result.config.limits.max_args == 10);
  CHECK(result.config.backend_timeout_ms == 5000);
  CHECK(result.config.connect_timeout_ms == 1000);
  CHECK(result.config.seeds.empty());
  CHECK(result.config.listen == Address{"127.0.0.1", 7777});
}

TEST_CASE("parseAddress accepts what Redis writes", "[config]") {
  CHECK(parseAddress("127.0.0.1:7000") == Address{"127.0.0.1", 7000});
  CHECK(parseAddress("localhost:6379") == Address{"localhost", 6379});
  CHECK(parseAddress("redis-node_1.example.com:1") == Address{"redis-node_1.example.com", 1});
  CHECK(parseAddress("[::1]:7000") == Address{"::1", 7000});
  CHECK(parseAddress("[2001:db8::1]:65535") == Address{"2001:db8::1", 65535});
  CHECK(parseAddress("[fe80::1%eth0]:7000") == Address{"fe80::1%eth0", 7000});
  // Redis's own unbracketed form: the port follows the last ':'.
  CHECK(parseAddress("2001:db8::1:7000") == Address{"2001:db8::1", 7000});
  CHECK(parseAddress("::1:7000") == Address{"::1", 7000});
}

TEST_CASE("parseAddress rejects the rest", "[config]") {
  for (std::string_view bad :
       {"",           "localhost",        "127.0.0.1",  "127.0.0.1:",       ":7000",      "[::1]",
        "[::1]7000",  "[::1]:",           "[]:7000",    "[localhost]:7000", "::1",        "host:0",
        "host:65536", "host:99999999999", "host:-1",    "host:+1",          "host:7000x", "host:70 00",
        "ho st:7000", " host:7000",       "host:7000 ", "host/x:7000",      "[::1:7000",  "2001:db8::1"}) {
    INFO('"' << bad << '"');
    CHECK_FALSE(parseAddress(bad).has_value());
  }
}

TEST_CASE("sizes accept redis.conf suffixes", "[config]") {
  auto bulk = [](std::string_view value) {
    LoadResult result = load("limits:\n  max_bulk_len: " + std::string(value) + "\n");
    INFO(value << "\n" << joined(result.errors));
    REQUIRE(result.ok());
    return result.config.limits.max_bulk_len;
  };
  CHECK(bulk("1") == 1);
  CHECK(bulk("100b") == 100);
  CHECK(bulk("64k") == 64 * 1024);
  CHECK(bulk("64kb") == 64 * 1024);
  CHECK(bulk("64KB") == 64 * 1024);
  CHECK(bulk("512mb") == 512u * 1024 * 1024);
  CHECK(bulk("512M") == 512u * 1024 * 1024);
  CHECK(bulk("1gb") == 1024u * 1024 * 1024);
  CHECK(bulk("4Gb") == 4ull * 1024 * 1024 * 1024);
  CHECK(bulk("\"2mb\"") == 2u * 1024 * 1024);

  for (std::string_view bad :
       {"0", "0kb", "4097mb", "5g", "1.5gb", "kb", "12 mb", "12tb", "-1kb", "99999999999999999999gb"}) {
    std::string error = onlyError("limits:\n  max_bulk_len: " + std::string(bad) + "\n");
    CHECK(error.starts_with("test.yaml:2: limits.max_bulk_len: expected a size from 1 to 4gb"));
  }
  CHECK(onlyError("limits:\n  client_output_buffer: 1023\n")
            .starts_with("test.yaml:2: limits.client_output_buffer: expected a size from 1kb to 64gb"));
  // Counts are not sizes.
  CHECK(onlyError("limits:\n  max_args: 1k\n").starts_with("test.yaml:2: limits.max_args: expected an integer"));
}

TEST_CASE("validate checks a finished config", "[config]") {
  Config config;
  SECTION("seeds are required") {
    CHECK(validate(config) == std::vector<std::string>{"seeds: at least one seed is required"});
  }
  config.seeds.push_back({"127.0.0.1", 7000});
  SECTION("a complete default config is fine") { CHECK(validate(config).empty()); }
  SECTION("thread count") {
    config.threads = 256;
    CHECK(validate(config).empty());
    config.threads = 300;
    CHECK(validate(config) == std::vector<std::string>{"threads: expected an integer from 0 to 256, got 300"});
  }
  SECTION("several problems, each naming its key") {
    config.seeds.push_back({"", 7001});
    config.seeds.push_back({"127.0.0.1", 7777});  // the proxy itself
    config.connect_timeout_ms = 0;
    config.log_level = "loud";
    config.limits.max_bulk_len = 5ull * 1024 * 1024 * 1024;
    config.listen.port = 0;
    std::vector<std::string> problems = validate(config);
    INFO(joined(problems));
    REQUIRE(problems.size() == 5);
    CHECK(problems[0].starts_with("listen: expected host:port"));
    CHECK(problems[1].starts_with("seeds[1]: expected host:port"));
    CHECK(problems[2] == "timeouts.connect_ms: expected an integer from 1 to 600000, got 0");
    CHECK(problems[3].starts_with("log.level: expected one of"));
    CHECK(problems[4].starts_with("limits.max_bulk_len: expected a size from 1 to 4gb"));
  }
  SECTION("a seed equal to the listen address would loop") {
    config.seeds.push_back(config.listen);
    std::vector<std::string> problems = validate(config);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].starts_with("seeds[1]: "));
  }
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
