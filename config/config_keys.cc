// The schema table and its lookups (config_keys.h).
#include "config/config_keys.h"

#include <iterator>
#include <type_traits>

#include "config/config_text.h"

namespace slotgate::config::detail {
namespace {

template <auto kMember>
constexpr NumberField configField() {
  return {[](const Config& c) -> uint64_t { return c.*kMember; },
          [](Config& c, uint64_t v) { c.*kMember = static_cast<std::remove_cvref_t<decltype(c.*kMember)>>(v); }};
}

template <auto kMember>
constexpr NumberField limitsField() {
  return {[](const Config& c) -> uint64_t { return c.limits.*kMember; },
          [](Config& c, uint64_t v) {
            c.limits.*kMember = static_cast<std::remove_cvref_t<decltype(c.limits.*kMember)>>(v);
          }};
}

template <auto kMember>
constexpr NumberField slowlogField() {
  return {[](const Config& c) -> uint64_t { return c.slowlog.*kMember; },
          [](Config& c, uint64_t v) {
            c.slowlog.*kMember = static_cast<std::remove_cvref_t<decltype(c.slowlog.*kMember)>>(v);
          }};
}

constexpr const char* kLogFormats[] = {"text", "json"};
constexpr const char* kTransports[] = {"auto", "libuv", "uring"};

template <auto kMember>
constexpr TextField clientTlsText() {
  return {[](Config& c) { return &(c.tls.*kMember); }};
}
template <auto kMember>
constexpr TextField backendTlsText() {
  return {[](Config& c) { return &(c.backend_tls.*kMember); }};
}
template <auto kMember>
constexpr NumberField clientTlsField() {
  return {[](const Config& c) -> uint64_t { return c.tls.*kMember; },
          [](Config& c, uint64_t v) { c.tls.*kMember = v != 0; }};
}
constexpr NumberField backendTlsEnabled() {
  return {[](const Config& c) -> uint64_t { return c.backend_tls.enabled; },
          [](Config& c, uint64_t v) { c.backend_tls.enabled = v != 0; }};
}
template <auto kMember>
constexpr ChoiceField configChoice(const char* const* choices, size_t count) {
  return {[](Config& c) { return &(c.*kMember); }, choices, count};
}
template <auto kMember>
constexpr ChoiceField clientTlsChoice(const char* const* choices, size_t count) {
  return {[](Config& c) { return &(c.tls.*kMember); }, choices, count};
}
template <auto kMember>
constexpr ChoiceField backendTlsChoice(const char* const* choices, size_t count) {
  return {[](Config& c) { return &(c.backend_tls.*kMember); }, choices, count};
}

constexpr TextField unixSocket() {
  return {[](Config& c) { return &c.unix_socket; }};
}
constexpr TextField backendUser() {
  return {[](Config& c) { return &c.backend.user; }};
}
constexpr TextField backendPassword() {
  return {[](Config& c) { return &c.backend.password; }};
}

// The schema. Ranges must match config/slotgate.example.yaml.
constexpr std::array kKeyTable{
    KeySpec{"listen", Kind::kAddress},
    KeySpec{"seeds", Kind::kAddressList},
    KeySpec{"threads", Kind::kInteger, 0, 256, configField<&Config::threads>()},
    KeySpec{
        "timeouts.connect_ms", Kind::kInteger, 1, 600000, configField<&Config::connect_timeout_ms>(), {}, kLive},
    KeySpec{
        "timeouts.backend_ms", Kind::kInteger, 1, 3600000, configField<&Config::backend_timeout_ms>(), {}, kLive},
    KeySpec{"timeouts.shutdown_ms",
            Kind::kInteger,
            0,
            3600000,
            configField<&Config::shutdown_timeout_ms>(),
            {},
            kLive},
    KeySpec{"max_redirects", Kind::kInteger, 0, 100, configField<&Config::max_redirects>(), {}, kLive},
    KeySpec{"read_from",
            Kind::kChoice,
            0,
            0,
            {},
            {},
            kLive,
            configChoice<&Config::read_from>(kReadFromChoices, std::size(kReadFromChoices))},
    KeySpec{"timeouts.client_idle_s", Kind::kInteger, 0, 31536000, configField<&Config::client_idle_s>()},
    KeySpec{
        "timeouts.client_park_ms", Kind::kInteger, 0, 86400000, configField<&Config::client_park_ms>(), {}, kLive},
    KeySpec{"topology.refresh_interval_ms", Kind::kInteger, 100, 86400000,
            configField<&Config::refresh_interval_ms>()},
    KeySpec{"topology.gossip", Kind::kBool, 0, 1, configField<&Config::gossip>()},
    KeySpec{"topology.gossip_interval_ms", Kind::kInteger, 10, 60000, configField<&Config::gossip_interval_ms>()},
    KeySpec{"topology.gossip_tls",
            Kind::kChoice,
            0,
            0,
            {},
            {},
            kRestart,
            configChoice<&Config::gossip_tls>(kGossipTlsChoices, std::size(kGossipTlsChoices))},
    KeySpec{"topology.failover_wait_ms",
            Kind::kInteger,
            0,
            3600000,
            configField<&Config::failover_wait_ms>(),
            {},
            kLive},
    KeySpec{"log.level", Kind::kLogLevel, 0, 0, {}, {}, kLive},
    KeySpec{"log.format",
            Kind::kChoice,
            0,
            0,
            {},
            {},
            kLive,
            configChoice<&Config::log_format>(kLogFormats, std::size(kLogFormats))},
    KeySpec{"io.transport",
            Kind::kChoice,
            0,
            0,
            {},
            {},
            kRestart,
            configChoice<&Config::io_transport>(kTransports, std::size(kTransports))},
    KeySpec{"admin.listen", Kind::kAdminAddress},
    KeySpec{"slowlog.slower_than_us",
            Kind::kInteger,
            0,
            3600000000,
            slowlogField<&Slowlog::slower_than_us>(),
            {},
            kLive},
    KeySpec{"slowlog.max_len", Kind::kInteger, 0, 1000000, slowlogField<&Slowlog::max_len>(), {}, kLive},
    KeySpec{"limits.max_bulk_len", Kind::kSize, 1, 4 * kGiB, limitsField<&Limits::max_bulk_len>(), {}, kLive},
    KeySpec{"protected_mode", Kind::kBool, 0, 1, configField<&Config::protected_mode>()},
    KeySpec{
        "limits.max_inline_len", Kind::kSize, 1, 512 * kMiB, limitsField<&Limits::max_inline_len>(), {}, kLive},
    KeySpec{"limits.max_args",
            Kind::kInteger,
            1,
            (uint64_t{1} << 31) - 1,
            limitsField<&Limits::max_args>(),
            {},
            kLive},
    KeySpec{"limits.max_pipeline", Kind::kInteger, 1, 1000000, limitsField<&Limits::max_pipeline>(), {}, kLive},
    KeySpec{"limits.client_output_buffer",
            Kind::kSize,
            kKiB,
            64 * kGiB,
            limitsField<&Limits::client_output_buffer>(),
            {},
            kLive},
    KeySpec{"users", Kind::kUsers, 0, 0, {}, {}, kLive},
    KeySpec{"backend.user", Kind::kString, 0, 0, {}, backendUser(), kLive},
    KeySpec{"backend.password", Kind::kSecret, 0, 0, {}, backendPassword(), kLive},
    KeySpec{"backend.spare_links", Kind::kInteger, 0, 16, configField<&Config::spare_links>(), {}, kLive},
    KeySpec{"scripts.cache_size", Kind::kInteger, 0, 1000000, configField<&Config::script_cache>()},
    KeySpec{"limits.client_output_buffer_soft", Kind::kSize, 0, 64 * kGiB,
            limitsField<&Limits::client_output_buffer_soft>()},
    KeySpec{"limits.client_output_buffer_soft_seconds", Kind::kInteger, 0, 86400,
            limitsField<&Limits::client_output_buffer_soft_seconds>()},
    KeySpec{"limits.max_clients", Kind::kInteger, 1, 1000000, limitsField<&Limits::max_clients>()},
    KeySpec{"limits.maxmemory", Kind::kSize, 0, 1024 * kGiB, limitsField<&Limits::maxmemory>()},
    KeySpec{"unix_socket", Kind::kString, 0, 0, {}, unixSocket()},
    KeySpec{"unix_socket_perm", Kind::kFileMode, 0, 0777, configField<&Config::unix_socket_perm>()},
    // Client-facing TLS. Certificates and keys are read again on every reload.
    KeySpec{"tls.listen", Kind::kTlsListen},
    KeySpec{"tls.cert_file", Kind::kFile, 0, 0, {}, clientTlsText<&ClientTls::cert_file>(), kLive},
    KeySpec{"tls.key_file", Kind::kFile, 0, 0, {}, clientTlsText<&ClientTls::key_file>(), kLive},
    KeySpec{"tls.ca_file", Kind::kFile, 0, 0, {}, clientTlsText<&ClientTls::ca_file>(), kLive},
    KeySpec{"tls.ca_dir", Kind::kDirectory, 0, 0, {}, clientTlsText<&ClientTls::ca_dir>(), kLive},
    KeySpec{"tls.verify_clients", Kind::kBool, 0, 1, clientTlsField<&ClientTls::verify_clients>(), {}, kLive},
    KeySpec{"tls.min_version",
            Kind::kChoice,
            0,
            0,
            {},
            {},
            kLive,
            clientTlsChoice<&ClientTls::min_version>(kTlsVersions, std::size(kTlsVersions))},
    KeySpec{"tls.ciphers", Kind::kString, 0, 0, {}, clientTlsText<&ClientTls::ciphers>(), kLive},
    KeySpec{"tls.ciphersuites", Kind::kString, 0, 0, {}, clientTlsText<&ClientTls::ciphersuites>(), kLive},
    // TLS to the nodes. Switching it on or off needs a restart; the rest applies to new connections.
    KeySpec{"backend.tls.enabled", Kind::kBool, 0, 1, backendTlsEnabled()},
    KeySpec{"backend.tls.ca_file", Kind::kFile, 0, 0, {}, backendTlsText<&BackendTls::ca_file>(), kLive},
    KeySpec{"backend.tls.ca_dir", Kind::kDirectory, 0, 0, {}, backendTlsText<&BackendTls::ca_dir>(), kLive},
    KeySpec{"backend.tls.cert_file", Kind::kFile, 0, 0, {}, backendTlsText<&BackendTls::cert_file>(), kLive},
    KeySpec{"backend.tls.key_file", Kind::kFile, 0, 0, {}, backendTlsText<&BackendTls::key_file>(), kLive},
    KeySpec{"backend.tls.server_name", Kind::kString, 0, 0, {}, backendTlsText<&BackendTls::server_name>(), kLive},
    KeySpec{"backend.tls.verify",
            Kind::kChoice,
            0,
            0,
            {},
            {},
            kLive,
            backendTlsChoice<&BackendTls::verify>(kTlsVerifyChoices, std::size(kTlsVerifyChoices))},
    KeySpec{"backend.tls.min_version",
            Kind::kChoice,
            0,
            0,
            {},
            {},
            kLive,
            backendTlsChoice<&BackendTls::min_version>(kTlsVersions, std::size(kTlsVersions))},
    KeySpec{"backend.tls.ciphers", Kind::kString, 0, 0, {}, backendTlsText<&BackendTls::ciphers>(), kLive},
    KeySpec{
        "backend.tls.ciphersuites", Kind::kString, 0, 0, {}, backendTlsText<&BackendTls::ciphersuites>(), kLive},
};

}  // namespace

// Constant-initialized (a span over a constexpr array), so usable from any static initializer.
constinit const std::span<const KeySpec> kKeys{kKeyTable};

const KeySpec* findKey(std::string_view path) {
  for (const KeySpec& spec : kKeys) {
    if (spec.path == path) return &spec;
  }
  return nullptr;
}

bool isSection(std::string_view path) {
  for (const KeySpec& spec : kKeys) {
    if (spec.path.size() > path.size() && spec.path.starts_with(path) && spec.path[path.size()] == '.') {
      return true;
    }
  }
  return false;
}

std::string suggestKey(std::string_view prefix, std::string_view name) {
  std::string best;
  size_t best_distance = 3;
  for (const KeySpec& spec : kKeys) {
    if (!spec.path.starts_with(prefix)) continue;
    std::string_view rest = spec.path.substr(prefix.size());
    std::string_view candidate = rest.substr(0, rest.find('.'));
    size_t distance = editDistance(name, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = std::string(prefix) + std::string(candidate);
    }
  }
  if (!best.empty()) return best;
  for (const KeySpec& spec : kKeys) {
    std::string_view leaf = spec.path.substr(spec.path.rfind('.') + 1);  // npos + 1 == 0
    if (editDistance(name, leaf) <= 1) return std::string(spec.path);
  }
  return {};
}

std::string expectation(const KeySpec& spec) {
  switch (spec.kind) {
    case Kind::kInteger:
      return "an integer from " + std::to_string(spec.min) + " to " + std::to_string(spec.max);
    case Kind::kSize:
      return "a size from " + formatSize(spec.min) + " to " + formatSize(spec.max) +
             " (bytes, or with a k/kb/m/mb/g/gb suffix)";
    case Kind::kBool:
      return "true or false";
    case Kind::kAddress:
      return "host:port with a port from 1 to 65535";  // or off (documented)
    case Kind::kFileMode:
      return "octal permission bits from 0000 to 0777, e.g. \"0660\"";
    case Kind::kAdminAddress:
      return "host:port with a port from 1 to 65535, or off";
    case Kind::kChoice: {
      std::string names;
      for (size_t i = 0; i < spec.choice.count; ++i)
        names += (names.empty() ? "" : ", ") + std::string(spec.choice.choices[i]);
      return "one of " + names;
    }
    case Kind::kAddressList:
      return "a list of host:port addresses";
    case Kind::kString:
    case Kind::kSecret:
      return "a string";
    case Kind::kFile:
      return "the path of a readable file";
    case Kind::kDirectory:
      return "the path of a readable directory";
    case Kind::kTlsListen:
      return "host:port with a port from 1 to 65535, or off";
    case Kind::kUsers:
      return "a list of users, each a map with name, password or password_sha256, permissions "
             "(read-only, read-write or admin) and key_prefixes";
    case Kind::kLogLevel: {
      std::string names;
      for (std::string_view level : kLogLevels) names += (names.empty() ? "" : ", ") + std::string(level);
      return "one of " + names;
    }
  }
  return {};
}

}  // namespace slotgate::config::detail
