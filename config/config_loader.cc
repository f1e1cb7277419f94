// The public loading entry points (file, text, one setting) and validate(), the whole-config
// checks. The schema they follow is config_keys.cc; the YAML walk is yaml_loader.cc.
#include "config/config_loader.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <system_error>

#include "common/ascii.h"
#include "config/config_keys.h"
#include "config/config_text.h"
#include "config/yaml_loader.h"

namespace slotgate::config {

using detail::expectation;
using detail::formatAddress;
using detail::formatSize;
using detail::KeySpec;
using detail::Kind;
using detail::kKeys;
using detail::kLogLevels;
using detail::quote;
using detail::validAddress;

LoadResult loadFile(const std::string& path) {
  std::string text;
  int error = 0;
  if (std::FILE* file = std::fopen(path.c_str(), "rb")) {
    char buffer[16384];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, n);
    if (std::ferror(file)) error = errno != 0 ? errno : EIO;  // e.g. EISDIR for a directory
    std::fclose(file);
  } else {
    error = errno;
  }
  if (error != 0) {
    LoadResult result;
    result.errors.push_back(path +
                            ": cannot read the configuration file: " + std::generic_category().message(error));
    return result;
  }
  return loadString(text, path);
}

LoadResult loadString(std::string_view yaml, std::string_view source_name) {
  detail::YamlLoader loader(source_name);
  try {
    return loader.run(yaml);
  } catch (const std::exception& e) {
    // yaml-cpp documents few of its throws; report rather than let one escape.
    LoadResult result;
    result.errors.push_back(std::string(source_name) + ": cannot load the configuration: " + e.what());
    return result;
  }
}

LoadResult setSetting(const Config& config, std::string_view key, std::string_view value) {
  std::string name = common::toLower(key);
  detail::YamlLoader loader("SLOTGATE CONFIG SET", config);
  LoadResult result;
  const KeySpec* spec = detail::findKey(name);
  if (!spec) {
    result = loader.take();
    result.errors.push_back(name + ": unknown setting");
    return result;
  }
  if (spec->kind == Kind::kAddressList || spec->kind == Kind::kUsers) {
    result = loader.take();
    result.errors.push_back(name + ": cannot be set here; edit the configuration file");
    return result;
  }
  try {
    loader.loadSetting(*spec, name, value);
  } catch (const std::exception& e) {
    result = loader.take();
    result.errors.push_back(name + ": " + e.what());
    return result;
  }
  result = loader.take();
  return result;
}

namespace {

// The TLS settings that only make sense together.
template <typename Report>
void validateTls(const Config& config, Report& report) {
  const ClientTls& tls = config.tls;
  if (tls.enabled) {
    if (tls.cert_file.empty()) report("tls.cert_file", "required when tls.listen is set");
    if (tls.key_file.empty()) report("tls.key_file", "required when tls.listen is set");
    if (tls.verify_clients && tls.ca_file.empty() && tls.ca_dir.empty()) {
      report("tls.ca_file", "required when tls.verify_clients is true (the CA client certificates come from)");
    }
    for (size_t i = 0; i < config.seeds.size(); ++i) {
      if (config.seeds[i] == tls.listen) {
        report("seeds[" + std::to_string(i) + "]",
               "is the proxy's own tls.listen address; seeds must be cluster nodes");
      }
    }
    if (config.protected_mode && !authConfigured(config) && validAddress(tls.listen) &&
        !isLoopbackHost(tls.listen.host)) {
      report("protected_mode", "tls.listen address " + quote(formatAddress(tls.listen)) +
                                   " is not loopback and no users are configured: set protected_mode: false to "
                                   "serve other hosts without authentication");
    }
  }
  const BackendTls& backend = config.backend_tls;
  if (!backend.cert_file.empty() && backend.key_file.empty()) {
    report("backend.tls.key_file", "required when backend.tls.cert_file is set");
  } else if (backend.cert_file.empty() && !backend.key_file.empty()) {
    report("backend.tls.cert_file", "required when backend.tls.key_file is set");
  }
}

}  // namespace

std::vector<std::string> validate(const Config& config) {
  std::vector<std::string> problems;
  auto report = [&](std::string_view path, const std::string& what) {
    problems.push_back(std::string(path) + ": " + what);
  };
  for (const KeySpec& spec : kKeys) {
    switch (spec.kind) {
      case Kind::kBool:
        break;
      case Kind::kInteger:
      case Kind::kSize: {
        uint64_t value = spec.field.get(config);
        if (value < spec.min || value > spec.max) {
          report(spec.path, "expected " + expectation(spec) + ", got " + std::to_string(value));
        }
        break;
      }
      case Kind::kFileMode: {
        uint64_t mode = spec.field.get(config);
        if (mode > spec.max) report(spec.path, "expected " + expectation(spec) + ", got " + std::to_string(mode));
        break;
      }
      case Kind::kAddress:
        if (!config.listen_enabled) {
          if (config.unix_socket.empty() && !config.tls.enabled)
            report(spec.path, "is off and neither unix_socket nor tls.listen is set: nothing would serve clients");
        } else if (!validAddress(config.listen)) {
          report(spec.path, "expected " + expectation(spec) + ", got " + quote(formatAddress(config.listen)));
        }
        break;
      case Kind::kAddressList:
        if (config.seeds.empty()) report(spec.path, "at least one seed is required");
        for (size_t i = 0; i < config.seeds.size(); ++i) {
          const Address& seed = config.seeds[i];
          std::string path = std::string(spec.path) + "[" + std::to_string(i) + "]";
          if (!validAddress(seed)) {
            report(path, "expected host:port with a port from 1 to 65535, got " + quote(formatAddress(seed)));
          } else if (config.listen_enabled && seed == config.listen) {
            // The proxy would forward every request to itself.
            report(path, "is the proxy's own listen address; seeds must be cluster nodes");
          }
        }
        break;
      case Kind::kLogLevel:
        if (std::find(kLogLevels.begin(), kLogLevels.end(), config.log_level) == kLogLevels.end()) {
          report(spec.path, "expected " + expectation(spec) + ", got " + quote(config.log_level));
        }
        break;
      case Kind::kString:
      case Kind::kSecret:
      case Kind::kUsers:
      case Kind::kFile:  // checked when loaded, where the line is known
      case Kind::kDirectory:
        break;
      case Kind::kTlsListen:
        if (config.tls.enabled && !validAddress(config.tls.listen)) {
          report(spec.path, "expected " + expectation(spec) + ", got " + quote(formatAddress(config.tls.listen)));
        } else if (config.tls.enabled && config.listen_enabled && config.tls.listen == config.listen) {
          report(spec.path, "is the plain listen address too; give TLS its own port");
        } else if (config.tls.enabled && config.admin_enabled && config.tls.listen == config.admin_listen) {
          report(spec.path, "is the admin.listen address too; give TLS its own port");
        }
        break;
      case Kind::kChoice: {
        const std::string& value = *spec.choice.ref(const_cast<Config&>(config));
        bool found = false;
        for (size_t i = 0; i < spec.choice.count; ++i) found |= value == spec.choice.choices[i];
        if (!found) report(spec.path, "expected " + expectation(spec) + ", got " + quote(value));
        break;
      }
      case Kind::kAdminAddress:
        if (config.admin_enabled && !validAddress(config.admin_listen)) {
          report(spec.path,
                 "expected " + expectation(spec) + ", got " + quote(formatAddress(config.admin_listen)));
        } else if (config.admin_enabled && config.listen_enabled && config.admin_listen == config.listen) {
          report(spec.path, "is the proxy's own listen address; use another port or off");
        }
        break;
    }
  }
  if (!config.backend.user.empty() && config.backend.password.empty()) {
    report("backend.password", "required when backend.user is set");
  }
  if (config.limits.client_output_buffer_soft > config.limits.client_output_buffer) {
    report("limits.client_output_buffer_soft", "is " + formatSize(config.limits.client_output_buffer_soft) +
                                                   ", more than the hard limit limits.client_output_buffer (" +
                                                   formatSize(config.limits.client_output_buffer) + ")");
  }
  validateTls(config, report);
  if (!config.unix_socket.empty()) {
    for (const std::string& problem : detail::unixSocketPathProblems(config.unix_socket)) {
      report("unix_socket", problem);
    }
  }
  if (config.protected_mode && !authConfigured(config) && config.listen_enabled && validAddress(config.listen) &&
      !isLoopbackHost(config.listen.host)) {
    report("protected_mode",
           "listen address " + quote(formatAddress(config.listen)) +
               " is not loopback and no users are configured: set protected_mode: false to serve "
               "other hosts without authentication");
  }
  return problems;
}

}  // namespace slotgate::config
