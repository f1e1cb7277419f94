// slotgate: one Redis port in front of a Redis Cluster.
#include <CLI/CLI.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <cctype>
#include <iostream>
#include <string>
#include <thread>

#include "common/log.h"
#include "config/config_loader.h"
#include "proxy/server.h"

namespace {

constexpr int kExitBadConfig = 2;

void printProblems(const std::vector<std::string>& problems) {
  for (const auto& problem : problems) std::cerr << "slotgate: " << problem << "\n";
  std::cerr << "slotgate: " << problems.size() << " configuration problem" << (problems.size() == 1 ? "" : "s")
            << "; nothing was started\n";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace slotgate;
  CLI::App app{
      "slotgate: a transparent Redis Cluster proxy. Plain Redis clients connect to one port;\n"
      "slotgate routes each command to the node that owns its keys and hides redirects."};
  std::string config_file, check_file, listen, seeds, log_level, admin_listen, protected_mode, unix_socket;
  unsigned threads = 0;
  bool version = false;
  bool threads_given = false;
  app.add_option("-c,--config", config_file, "YAML configuration file (see config/slotgate.example.yaml)");
  app.add_option("--check-config", check_file, "validate a configuration file and exit (0 valid, 2 invalid)");
  app.add_option("--listen", listen, "address to listen on, HOST:PORT (default 127.0.0.1:7777), or off");
  app.add_option("--unix-socket", unix_socket, "also serve clients on this unix socket path (unix_socket)");
  app.add_option("--seeds", seeds, "cluster nodes to start from, HOST:PORT[,HOST:PORT...]");
  auto* threads_opt = app.add_option("--threads", threads, "worker threads (0 = one per core)");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|critical|off");
  app.add_option("--protected-mode", protected_mode,
                 "yes|no: without users, serve loopback clients only (default yes)");
  app.add_option("--admin-listen", admin_listen,
                 "admin HTTP address (/metrics, /healthz, /readyz, /topology), HOST:PORT or off");
  app.add_flag("--version", version, "print the version and exit");
  try {
    app.parse(argc, argv);
    threads_given = threads_opt->count() > 0;
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitBadConfig;
  }
  if (version) {
    std::cout << "slotgate " << SLOTGATE_VERSION << " (git " << SLOTGATE_GIT_REVISION << ")\n";
    return 0;
  }

  if (!check_file.empty()) {
    config::LoadResult result = config::loadFile(check_file);
    if (result.ok()) {
      auto problems = config::validate(result.config);
      result.errors.insert(result.errors.end(), problems.begin(), problems.end());
    }
    if (result.ok()) buildTlsContexts(result.config, &result.errors);
    if (!result.ok()) {
      printProblems(result.errors);
      return kExitBadConfig;
    }
    std::cout << check_file << ": configuration is valid\n";
    return 0;
  }

  config::LoadResult result;
  if (!config_file.empty()) result = config::loadFile(config_file);
  // Command-line values override the file, at start and on every reload.
  auto overrides = [=](config::Config& cfg, std::vector<std::string>* errors) {
    if (!unix_socket.empty()) cfg.unix_socket = unix_socket;
    if (listen == "off") {
      cfg.listen_enabled = false;
    } else if (!listen.empty()) {
      if (auto address = config::parseAddress(listen)) {
        cfg.listen_enabled = true;
        cfg.listen = *address;
      } else if (errors) {
        errors->push_back("--listen: expected HOST:PORT or off, got \"" + listen + "\"");
      }
    }
    if (!admin_listen.empty()) {
      if (admin_listen == "off") {
        cfg.admin_enabled = false;
      } else if (auto address = config::parseAddress(admin_listen)) {
        cfg.admin_enabled = true;
        cfg.admin_listen = *address;
      } else if (errors) {
        errors->push_back("--admin-listen: expected HOST:PORT or off, got \"" + admin_listen + "\"");
      }
    }
    if (!seeds.empty()) {
      cfg.seeds.clear();
      size_t start = 0;
      while (start <= seeds.size()) {
        size_t comma = seeds.find(',', start);
        std::string item = seeds.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (auto address = config::parseAddress(item)) {
          cfg.seeds.push_back(*address);
        } else if (errors) {
          errors->push_back("--seeds: expected HOST:PORT, got \"" + item + "\"");
        }
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    }
    if (threads_given) cfg.threads = threads;
    if (!log_level.empty()) {
      std::string level = log_level;
      for (char& c : level) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      cfg.log_level = level;
    }
    if (protected_mode == "yes" || protected_mode == "no") {
      cfg.protected_mode = protected_mode == "yes";
    } else if (!protected_mode.empty() && errors) {
      errors->push_back("--protected-mode: expected yes or no, got \"" + protected_mode + "\"");
    }
  };
  config::Config& cfg = result.config;
  overrides(cfg, &result.errors);
  if (result.errors.empty()) {
    auto problems = config::validate(cfg);
    result.errors.insert(result.errors.end(), problems.begin(), problems.end());
  }
  // Certificates and keys that do not load (or do not match) are bad settings too.
  TlsContextsPtr tls;
  if (result.errors.empty()) tls = buildTlsContexts(cfg, &result.errors);
  if (!result.errors.empty()) {
    printProblems(result.errors);
    return kExitBadConfig;
  }
  common::setLogLevel(cfg.log_level);
  common::setLogFormat(cfg.log_format);
  // Every client and node connection is a descriptor: take all the process may have.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  // Like Redis: serve fewer clients than asked rather than run out of descriptors for the nodes,
  // the listeners and the loops themselves.
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY) {
    unsigned workers = cfg.threads ? cfg.threads : std::max(1u, std::thread::hardware_concurrency());
    rlim_t reserved = 64 + 32 * rlim_t{workers};
    rlim_t usable = files.rlim_cur > reserved + 1 ? files.rlim_cur - reserved : 1;
    if (cfg.limits.max_clients > usable) {
      common::logger("proxy")->warn(
          "limits.max_clients lowered from {} to {}: the process may open only {} files "
          "(RLIMIT_NOFILE) and keeps {} for nodes and itself",
          cfg.limits.max_clients, usable, files.rlim_cur, reserved);
      cfg.limits.max_clients = static_cast<size_t>(usable);
    }
  }
  ConfigSource source{config_file, [overrides](config::Config& c) { overrides(c, nullptr); }};
  return runServer(cfg, std::move(tls), std::move(source));
}
