// The TLS settings: what loads, files that cannot be read (named with key and line, all at once),
// the settings that only make sense together, and which of them a reload applies.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>

#include "config/config_loader.h"
#include "test/support/config_test_support.h"

namespace slotgate::config {
namespace {

using test::joined;

// A readable file for the settings that want one.
struct TempFile {
  std::string path = "/tmp/slotgate-tls-config-" + std::to_string(getpid()) + ".pem";
  TempFile() { std::ofstream(path) << "not checked here\n"; }
  ~TempFile() { std::remove(path.c_str()); }
};

}  // namespace

TEST_CASE("TLS settings load for both sides", "[config]") {
  TempFile f;
  std::string yaml =
      "listen: off\n"
      "tls:\n"
      "  listen: 127.0.0.1:6380\n"
      "  cert_file: " +
      f.path +
      "\n"
      "  key_file: " +
      f.path +
      "\n"
      "  ca_file: " +
      f.path +
      "\n"
      "  ca_dir: /tmp\n"
      "  verify_clients: true\n"
      "  min_version: 1.3\n"
      "  ciphers: HIGH\n"
      "backend:\n"
      "  tls:\n"
      "    enabled: true\n"
      "    ca_file: " +
      f.path +
      "\n"
      "    cert_file: " +
      f.path +
      "\n"
      "    key_file: " +
      f.path +
      "\n"
      "    server_name: redis.internal\n"
      "    verify: ca\n"
      "    ciphersuites: TLS_AES_256_GCM_SHA384\n"
      "seeds: [\"127.0.0.1:7000\"]\n";
  LoadResult result = loadString(yaml, "t.yaml");
  INFO(joined(result.errors));
  REQUIRE(result.ok());
  const Config& c = result.config;
  CHECK(validate(c).empty());
  CHECK(c.tls.enabled);
  CHECK(c.tls.listen == Address{"127.0.0.1", 6380});
  CHECK(c.tls.verify_clients);
  CHECK(c.tls.min_version == "1.3");
  CHECK(c.tls.ca_dir == "/tmp");
  CHECK(c.tls.ciphers == "HIGH");
  CHECK(c.backend_tls.enabled);
  CHECK(c.backend_tls.server_name == "redis.internal");
  CHECK(c.backend_tls.verify == "ca");
  CHECK(c.backend_tls.ciphersuites == "TLS_AES_256_GCM_SHA384");
  CHECK(c.gossip_tls == "auto");
}

TEST_CASE("TLS files that cannot be read are named with their key and line, all at once", "[config]") {
  LoadResult result = loadString(
      "tls:\n"
      "  listen: 127.0.0.1:6380\n"
      "  cert_file: /nonexistent/server.crt\n"
      "  key_file: /tmp\n"
      "backend:\n"
      "  tls:\n"
      "    enabled: true\n"
      "    ca_file: /nonexistent/ca.crt\n"
      "    ca_dir: /nonexistent/cas\n"
      "    verify: sometimes\n",
      "t.yaml");
  std::string all = joined(result.errors);
  INFO(all);
  REQUIRE(result.errors.size() == 5);
  CHECK(all.find("t.yaml:3: tls.cert_file: cannot read /nonexistent/server.crt: No such file or directory") !=
        std::string::npos);
  CHECK(all.find("t.yaml:4: tls.key_file: cannot read /tmp: is a directory") != std::string::npos);
  CHECK(all.find("t.yaml:8: backend.tls.ca_file: cannot read /nonexistent/ca.crt") != std::string::npos);
  CHECK(all.find("t.yaml:9: backend.tls.ca_dir: cannot read the directory /nonexistent/cas") != std::string::npos);
  CHECK(all.find("t.yaml:10: backend.tls.verify: expected one of full, ca, none, got \"sometimes\"") !=
        std::string::npos);
}

TEST_CASE("TLS settings that only work together", "[config]") {
  Config c;
  c.seeds = {{"127.0.0.1", 7000}};
  c.listen_enabled = false;
  c.tls.enabled = true;
  c.tls.listen = {"127.0.0.1", 6380};
  c.tls.verify_clients = true;
  c.backend_tls.cert_file = "/x.crt";
  std::string all = joined(validate(c));
  INFO(all);
  CHECK(all.find("tls.cert_file: required when tls.listen is set") != std::string::npos);
  CHECK(all.find("tls.key_file: required when tls.listen is set") != std::string::npos);
  CHECK(all.find("tls.ca_file: required when tls.verify_clients is true") != std::string::npos);
  CHECK(all.find("backend.tls.key_file: required when backend.tls.cert_file is set") != std::string::npos);
  // TLS alone serves clients: listen off is fine then.
  CHECK(all.find("nothing would serve clients") == std::string::npos);

  Config same;
  same.seeds = {{"127.0.0.1", 7000}};
  same.tls.enabled = true;
  same.tls.listen = same.listen;
  same.tls.cert_file = same.tls.key_file = "/x";
  CHECK(joined(validate(same)).find("tls.listen: is the plain listen address too") != std::string::npos);

  Config open;
  open.seeds = {{"127.0.0.1", 7000}};
  open.tls.enabled = true;
  open.tls.listen = {"0.0.0.0", 6380};
  open.tls.cert_file = open.tls.key_file = "/x";
  CHECK(joined(validate(open)).find("protected_mode: tls.listen address \"0.0.0.0:6380\" is not loopback") !=
        std::string::npos);
}

TEST_CASE("a reload applies certificate settings, not the TLS ports or switching TLS on", "[config]") {
  CHECK(isLive("tls.cert_file"));
  CHECK(isLive("tls.key_file"));
  CHECK(isLive("backend.tls.ca_file"));
  CHECK(isLive("backend.tls.server_name"));
  CHECK_FALSE(isLive("tls.listen"));
  CHECK_FALSE(isLive("backend.tls.enabled"));
  Config running, next;
  next.tls.enabled = true;
  next.tls.listen = {"127.0.0.1", 6380};
  next.tls.cert_file = "/new.crt";
  next.backend_tls.enabled = true;
  auto restart = restartRequired(running, next);
  CHECK(std::find(restart.begin(), restart.end(), "tls.listen") != restart.end());
  CHECK(std::find(restart.begin(), restart.end(), "backend.tls.enabled") != restart.end());
  Config applied = liveOnly(next, running);
  CHECK_FALSE(applied.tls.enabled);
  CHECK_FALSE(applied.backend_tls.enabled);
  CHECK(applied.tls.cert_file == "/new.crt");
  auto shown = settings(next);
  bool found = false;
  for (const auto& [key, value] : shown) found |= key == "tls.listen" && value == "127.0.0.1:6380";
  CHECK(found);
}

}  // namespace slotgate::config
