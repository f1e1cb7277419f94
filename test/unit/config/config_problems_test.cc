// Every kind of mistake in a config is reported with its source, line and dotted key, all at once;
// addresses and sizes parse as Redis writes them; validate() checks a finished config.
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

}  // namespace slotgate::config
