// YAML -> Config. One table of key descriptors (kKeys) drives the walk over the document, the type
// and range checks, the "did you mean" hints and validate(), so a new setting is one row here plus
// its field in config.h.
#include "config/config_loader.h"

#include <arpa/inet.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <map>
#include <sstream>
#include <system_error>
#include <type_traits>

#include "common/digest.h"

namespace slotgate::config {
namespace {

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;
constexpr uint64_t kGiB = 1024 * kMiB;
constexpr size_t kMaxShownValue = 60;  // longer values are cut in messages

enum class Kind {
  kInteger, kSize, kBool, kAddress, kAddressList, kLogLevel, kString, kSecret, kUsers, kChoice, kAdminAddress
};

// Reads and writes one numeric field of Config; plain function pointers keep the table constexpr.
struct NumberField {
  uint64_t (*get)(const Config&) = nullptr;
  void (*set)(Config&, uint64_t) = nullptr;
};

// The same for a text field (kString, kSecret).
struct TextField {
  std::string* (*ref)(Config&) = nullptr;
};

template <auto kMember>
constexpr NumberField configField() {
  return {[](const Config& c) -> uint64_t { return c.*kMember; },
          [](Config& c, uint64_t v) {
            c.*kMember = static_cast<std::remove_cvref_t<decltype(c.*kMember)>>(v);
          }};
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

// A setting that takes one of a few words (kChoice).
struct ChoiceField {
  std::string Config::*member = nullptr;
  const char* const* choices = nullptr;
  size_t count = 0;
};

constexpr const char* kLogFormats[] = {"text", "json"};

enum Applies : bool { kRestart = false, kLive = true };

struct KeySpec {
  std::string_view path;  // dotted, as nested in the file; a prefix before '.' is a section
  Kind kind;
  uint64_t min = 0;  // inclusive bounds, for kInteger and kSize
  uint64_t max = 0;
  NumberField field{};
  TextField text{};
  Applies live = kRestart;  // a reload (SIGHUP, SLOTGATE RELOAD) applies it without a restart
  ChoiceField choice{};
};

constexpr TextField backendUser() { return {[](Config& c) { return &c.backend.user; }}; }
constexpr TextField backendPassword() { return {[](Config& c) { return &c.backend.password; }}; }

// The schema. Ranges must match config/slotgate.example.yaml.
constexpr std::array kKeys{
    KeySpec{"listen", Kind::kAddress},
    KeySpec{"seeds", Kind::kAddressList},
    KeySpec{"threads", Kind::kInteger, 0, 256, configField<&Config::threads>()},
    KeySpec{"timeouts.connect_ms", Kind::kInteger, 1, 600000,
            configField<&Config::connect_timeout_ms>(), {}, kLive},
    KeySpec{"timeouts.backend_ms", Kind::kInteger, 1, 3600000,
            configField<&Config::backend_timeout_ms>(), {}, kLive},
    KeySpec{"timeouts.shutdown_ms", Kind::kInteger, 0, 3600000,
            configField<&Config::shutdown_timeout_ms>(), {}, kLive},
    KeySpec{"max_redirects", Kind::kInteger, 0, 100, configField<&Config::max_redirects>(), {}, kLive},
    KeySpec{"read_from", Kind::kChoice, 0, 0, {}, {}, kLive,
            {&Config::read_from, kReadFromChoices, std::size(kReadFromChoices)}},
    KeySpec{"timeouts.client_idle_s", Kind::kInteger, 0, 31536000,
            configField<&Config::client_idle_s>()},
    KeySpec{"topology.refresh_interval_ms", Kind::kInteger, 100, 86400000,
            configField<&Config::refresh_interval_ms>()},
    KeySpec{"topology.gossip", Kind::kBool, 0, 1, configField<&Config::gossip>()},
    KeySpec{"topology.gossip_interval_ms", Kind::kInteger, 10, 60000,
            configField<&Config::gossip_interval_ms>()},
    KeySpec{"topology.failover_wait_ms", Kind::kInteger, 0, 3600000,
            configField<&Config::failover_wait_ms>(), {}, kLive},
    KeySpec{"log.level", Kind::kLogLevel, 0, 0, {}, {}, kLive},
    KeySpec{"log.format", Kind::kChoice, 0, 0, {}, {}, kLive,
            {&Config::log_format, kLogFormats, std::size(kLogFormats)}},
    KeySpec{"admin.listen", Kind::kAdminAddress},
    KeySpec{"slowlog.slower_than_us", Kind::kInteger, 0, 3600000000,
            slowlogField<&Slowlog::slower_than_us>(), {}, kLive},
    KeySpec{"slowlog.max_len", Kind::kInteger, 0, 1000000, slowlogField<&Slowlog::max_len>(), {}, kLive},
    KeySpec{"limits.max_bulk_len", Kind::kSize, 1, 4 * kGiB, limitsField<&Limits::max_bulk_len>(), {}, kLive},
    KeySpec{"protected_mode", Kind::kBool, 0, 1, configField<&Config::protected_mode>()},
    KeySpec{"limits.max_inline_len", Kind::kSize, 1, 512 * kMiB,
            limitsField<&Limits::max_inline_len>(), {}, kLive},
    KeySpec{"limits.max_args", Kind::kInteger, 1, (uint64_t{1} << 31) - 1,
            limitsField<&Limits::max_args>(), {}, kLive},
    KeySpec{"limits.max_pipeline", Kind::kInteger, 1, 1000000,
            limitsField<&Limits::max_pipeline>(), {}, kLive},
    KeySpec{"limits.client_output_buffer", Kind::kSize, kKiB, 64 * kGiB,
            limitsField<&Limits::client_output_buffer>(), {}, kLive},
    KeySpec{"users", Kind::kUsers, 0, 0, {}, {}, kLive},
    KeySpec{"backend.user", Kind::kString, 0, 0, {}, backendUser(), kLive},
    KeySpec{"backend.password", Kind::kSecret, 0, 0, {}, backendPassword(), kLive},
    KeySpec{"scripts.cache_size", Kind::kInteger, 0, 1000000, configField<&Config::script_cache>()},
    KeySpec{"limits.client_output_buffer_soft", Kind::kSize, 0, 64 * kGiB,
            limitsField<&Limits::client_output_buffer_soft>()},
    KeySpec{"limits.client_output_buffer_soft_seconds", Kind::kInteger, 0, 86400,
            limitsField<&Limits::client_output_buffer_soft_seconds>()},
    KeySpec{"limits.max_clients", Kind::kInteger, 1, 1000000, limitsField<&Limits::max_clients>()},
    KeySpec{"limits.maxmemory", Kind::kSize, 0, 1024 * kGiB, limitsField<&Limits::maxmemory>()},
};

constexpr std::array<std::string_view, 3> kPermissions{"read-only", "read-write", "admin"};

constexpr std::array<std::string_view, 7> kLogLevels{"trace", "debug",    "info", "warn",
                                                     "error", "critical", "off"};

struct SizeUnit {
  std::string_view name;
  uint64_t multiplier;
};
// redis.conf's memory units, all 1024-based here (redis.conf reads a bare "k" as 1000).
constexpr std::array<SizeUnit, 8> kSizeUnits{{
    {"", 1},
    {"b", 1},
    {"k", kKiB},
    {"kb", kKiB},
    {"m", kMiB},
    {"mb", kMiB},
    {"g", kGiB},
    {"gb", kGiB},
}};

const KeySpec* findKey(std::string_view path) {
  for (const KeySpec& spec : kKeys) {
    if (spec.path == path) return &spec;
  }
  return nullptr;
}

bool isSection(std::string_view path) {
  for (const KeySpec& spec : kKeys) {
    if (spec.path.size() > path.size() && spec.path.starts_with(path) &&
        spec.path[path.size()] == '.') {
      return true;
    }
  }
  return false;
}

char toLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

// Plain decimal only: no sign, no spaces, no float, no hex, no trailing junk.
std::optional<uint64_t> parseUnsigned(std::string_view text) {
  if (text.empty() || !isDigit(text.front())) return std::nullopt;
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// YAML 1.1's spellings of a boolean, any case.
std::optional<bool> parseBool(std::string_view text) {
  std::string lower;
  for (char c : text) lower += toLower(c);
  if (lower == "true" || lower == "yes" || lower == "on") return true;
  if (lower == "false" || lower == "no" || lower == "off") return false;
  return std::nullopt;
}

// A byte count as redis.conf writes it: "1048576", "64kb", "512MB", "1g" (all units 1024-based).
std::optional<uint64_t> parseSize(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && isDigit(text[digits])) ++digits;
  std::optional<uint64_t> number = parseUnsigned(text.substr(0, digits));
  if (!number) return std::nullopt;
  std::string unit;
  for (char c : text.substr(digits)) unit += toLower(c);
  auto unit_it = std::find_if(kSizeUnits.begin(), kSizeUnits.end(),
                              [&](const SizeUnit& u) { return u.name == unit; });
  if (unit_it == kSizeUnits.end()) return std::nullopt;
  uint64_t multiplier = unit_it->multiplier;
  if (*number > UINT64_MAX / multiplier) return std::nullopt;
  return *number * multiplier;
}

std::string formatSize(uint64_t bytes) {
  if (bytes != 0 && bytes % kGiB == 0) return std::to_string(bytes / kGiB) + "gb";
  if (bytes != 0 && bytes % kMiB == 0) return std::to_string(bytes / kMiB) + "mb";
  if (bytes != 0 && bytes % kKiB == 0) return std::to_string(bytes / kKiB) + "kb";
  return std::to_string(bytes);
}

std::string formatAddress(const Address& address) {
  bool v6 = address.host.find(':') != std::string::npos;
  return (v6 ? "[" + address.host + "]" : address.host) + ":" + std::to_string(address.port);
}

std::string quote(std::string_view text) {
  if (text.size() > kMaxShownValue)
    return "\"" + std::string(text.substr(0, kMaxShownValue)) + "...\"";
  return "\"" + std::string(text) + "\"";
}

// What a key accepts, as it reads after "expected ".
std::string expectation(const KeySpec& spec) {
  switch (spec.kind) {
    case Kind::kInteger:
      return "an integer from " + std::to_string(spec.min) + " to " + std::to_string(spec.max);
    case Kind::kSize:
      return "a size from " + formatSize(spec.min) + " to " + formatSize(spec.max) +
             " (bytes, or with a k/kb/m/mb/g/gb suffix)";
    case Kind::kBool: return "true or false";
    case Kind::kAddress: return "host:port with a port from 1 to 65535";
    case Kind::kAdminAddress: return "host:port with a port from 1 to 65535, or off";
    case Kind::kChoice: {
      std::string names;
      for (size_t i = 0; i < spec.choice.count; ++i)
        names += (names.empty() ? "" : ", ") + std::string(spec.choice.choices[i]);
      return "one of " + names;
    }
    case Kind::kAddressList: return "a list of host:port addresses";
    case Kind::kString:
    case Kind::kSecret: return "a string";
    case Kind::kUsers:
      return "a list of users, each a map with name, password or password_sha256, permissions "
             "(read-only, read-write or admin) and key_prefixes";
    case Kind::kLogLevel: {
      std::string names;
      for (std::string_view level : kLogLevels)
        names += (names.empty() ? "" : ", ") + std::string(level);
      return "one of " + names;
    }
  }
  return {};
}

// What was found instead, as it reads after "got ".
std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar: return quote(node.Scalar());
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a map";
    default: return "no value";
  }
}

// Optimal string alignment distance: edits, counting a swap of neighbours as one typo.
size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// The closest known key for a misspelt or misplaced one: first a name within two edits in the
// same section, then the same name in another section (e.g. connect_ms written at the top level).
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

bool isHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c) || c == '-' || c == '.' ||
         c == '_' || c == ':' || c == '%';
}

// A host with ':' must be a real IPv6 address (an optional %zone aside), so that "::1" without a
// port is not misread as host ":" port 1.
bool isIpv6(std::string_view host) {
  std::string address(host.substr(0, host.find('%')));
  in6_addr parsed;
  return inet_pton(AF_INET6, address.c_str(), &parsed) == 1;
}

bool validAddress(const Address& address) {
  return !address.host.empty() && address.port != 0;
}

// Counts the documents of a stream and notes where the second one's content starts.
class DocumentCounter : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override { ++starts_; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string&) override {
    node(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    node(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    node(mark);
  }
  void OnMapEnd() override {}

  YAML::Mark second = YAML::Mark::null_mark();

 private:
  void node(const YAML::Mark& mark) {
    if (starts_ == 2 && second.is_null()) second = mark;
  }
  size_t starts_ = 0;
};

constexpr size_t kMaxDocuments = 64;

// Walks one parsed document against kKeys, collecting every problem.
class Loader {
 public:
  explicit Loader(std::string_view source, Config initial = {}) : source_(source) {
    result_.config = std::move(initial);
  }

  LoadResult run(std::string_view yaml) {
    // YAML::LoadAll can loop for ever on some malformed streams (a stray ',' at the top level,
    // yaml-cpp issue 1040), so load the first document alone and count the others with a bound.
    YAML::Node first;
    size_t documents = 0;
    YAML::Mark second = YAML::Mark::null_mark();
    try {
      first = YAML::Load(std::string(yaml));
      std::istringstream stream{std::string(yaml)};
      YAML::Parser parser(stream);
      DocumentCounter counter;
      while (documents < kMaxDocuments && parser.HandleNextDocument(counter)) ++documents;
      second = counter.second;
    } catch (const YAML::Exception& e) {
      fail(e.mark, "", "YAML syntax error: " + e.msg);
      return std::move(result_);
    }
    if (documents > 1) {
      fail(second, "",
           "expected one YAML document, found " +
               (documents == kMaxDocuments ? "at least " + std::to_string(documents)
                                           : std::to_string(documents)));
    }
    if (documents == 0 || first.IsNull()) return std::move(result_);
    const YAML::Node& root = first;
    if (!root.IsMap()) {
      fail(root.Mark(), "", "expected a map of settings at the top level, got " + describe(root));
    } else {
      walkMap(root, "");
    }
    return std::move(result_);
  }

  void fail(const YAML::Mark& mark, std::string_view path, std::string_view what) {
    std::string message(source_);
    if (!mark.is_null()) message += ":" + std::to_string(mark.line + 1);
    message += ": ";
    if (!path.empty()) message += std::string(path) + ": ";
    message += what;
    result_.errors.push_back(std::move(message));
  }

  void walkMap(const YAML::Node& map, const std::string& prefix) {
    std::map<std::string, int, std::less<>> seen;  // key -> line of its first occurrence
    for (const auto& entry : map) {
      const YAML::Node& key = entry.first;
      const YAML::Node& value = entry.second;
      if (!key.IsScalar()) {
        fail(key.Mark(), prefix.empty() ? "" : prefix.substr(0, prefix.size() - 1),
             "expected a key name, got " + describe(key));
        continue;
      }
      const std::string& name = key.Scalar();
      std::string path = prefix + name;
      // yaml-cpp keeps both entries of a repeated key; say so rather than silently use one.
      if (auto [it, inserted] = seen.emplace(name, key.Mark().line + 1); !inserted) {
        fail(key.Mark(), path,
             "duplicate key (first set on line " + std::to_string(it->second) + ")");
        continue;
      }
      if (name.find('.') != std::string::npos) {
        // Dotted names are how messages spell keys, not how the file nests them.
        fail(key.Mark(), path, "unknown key; nest sections instead of writing dotted names");
      } else if (const KeySpec* spec = findKey(path)) {
        loadValue(*spec, key, value);
      } else if (isSection(path)) {
        if (value.IsMap()) {
          walkMap(value, path + ".");
        } else if (!value.IsNull()) {  // an empty section ("limits:") just keeps the defaults
          fail(key.Mark(), path, "expected a map of settings, got " + describe(value));
        }
      } else {
        std::string hint = suggestKey(prefix, name);
        fail(key.Mark(), path,
             hint.empty() ? "unknown key" : "unknown key; did you mean \"" + hint + "\"?");
      }
    }
  }

  LoadResult take() { return std::move(result_); }

  void loadValue(const KeySpec& spec, const YAML::Node& key, const YAML::Node& value) {
    Config& config = result_.config;
    switch (spec.kind) {
      case Kind::kInteger:
      case Kind::kSize: {
        std::optional<uint64_t> number;
        if (value.IsScalar()) {
          number =
              spec.kind == Kind::kSize ? parseSize(value.Scalar()) : parseUnsigned(value.Scalar());
        }
        if (!number || *number < spec.min || *number > spec.max) return expected(spec, key, value);
        spec.field.set(config, *number);
        return;
      }
      case Kind::kBool: {
        std::optional<bool> flag;
        if (value.IsScalar()) flag = parseBool(value.Scalar());
        if (!flag) return expected(spec, key, value);
        spec.field.set(config, *flag ? 1 : 0);
        return;
      }
      case Kind::kAddress: {
        std::optional<Address> address;
        if (value.IsScalar()) address = parseAddress(value.Scalar());
        if (!address) return expected(spec, key, value);
        config.listen = std::move(*address);
        return;
      }
      case Kind::kLogLevel: {
        std::string level;
        if (value.IsScalar()) {
          for (char c : value.Scalar()) level += toLower(c);
        }
        if (std::find(kLogLevels.begin(), kLogLevels.end(), level) == kLogLevels.end()) {
          return expected(spec, key, value);
        }
        config.log_level = std::move(level);
        return;
      }
      case Kind::kAddressList: return loadSeeds(spec, key, value);
      case Kind::kString:
      case Kind::kSecret:
        if (!value.IsScalar()) return expected(spec, key, value);
        *spec.text.ref(config) = value.Scalar();
        return;
      case Kind::kUsers: return loadUsers(spec, key, value);
      case Kind::kChoice: {
        std::string word;
        if (value.IsScalar()) {
          for (char c : value.Scalar()) word += toLower(c);
        }
        for (size_t i = 0; i < spec.choice.count; ++i) {
          if (word == spec.choice.choices[i]) {
            config.*spec.choice.member = std::move(word);
            return;
          }
        }
        return expected(spec, key, value);
      }
      case Kind::kAdminAddress: {
        if (value.IsScalar() && (value.Scalar() == "off" || value.Scalar() == "OFF")) {
          config.admin_enabled = false;
          return;
        }
        std::optional<Address> address;
        if (value.IsScalar()) address = parseAddress(value.Scalar());
        if (!address) return expected(spec, key, value);
        config.admin_enabled = true;
        config.admin_listen = std::move(*address);
        return;
      }
    }
  }

  // users: [{name, password | password_sha256, permissions, key_prefixes}, ...]
  void loadUsers(const KeySpec& spec, const YAML::Node& key, const YAML::Node& value) {
    if (!value.IsSequence()) return expected(spec, key, value);
    std::vector<User> users;
    bool all_good = true;
    size_t index = 0;
    for (const YAML::Node& item : value) {
      std::string path = std::string(spec.path) + "[" + std::to_string(index++) + "]";
      YAML::Mark mark = item.Mark().is_null() ? key.Mark() : item.Mark();
      auto bad = [&](std::string_view field, const std::string& what) {
        all_good = false;
        fail(mark, path + (field.empty() ? "" : "." + std::string(field)), what);
      };
      if (!item.IsMap()) {
        bad("", "expected a map with name, password or password_sha256, permissions and "
                "key_prefixes, got " + describe(item));
        continue;
      }
      User user;
      bool has_name = false, has_password = false;
      for (const auto& field : item) {
        std::string name = field.first.IsScalar() ? field.first.Scalar() : "";
        const YAML::Node& v = field.second;
        if (name == "name") {
          if (!v.IsScalar() || v.Scalar().empty() || v.Scalar().find(' ') != std::string::npos) {
            bad(name, "expected a user name without spaces, got " + describe(v));
          } else {
            user.name = v.Scalar();
            has_name = true;
          }
        } else if (name == "password" || name == "password_sha256") {
          if (has_password) bad(name, "give either password or password_sha256, not both");
          std::optional<common::Sha256Digest> digest;
          if (v.IsScalar()) {
            digest = name == "password" ? common::sha256(v.Scalar()) : common::parseSha256Hex(v.Scalar());
          }
          if (!digest) {
            bad(name, name == "password" ? "expected a string, got " + describe(v)
                                         : "expected 64 hex digits (sha256sum of the password), got " +
                                               describe(v));
          } else {
            user.password_sha256 = *digest;
            has_password = true;
          }
        } else if (name == "permissions") {
          auto it = v.IsScalar() ? std::find(kPermissions.begin(), kPermissions.end(), v.Scalar())
                                 : kPermissions.end();
          if (it == kPermissions.end()) {
            bad(name, "expected one of read-only, read-write, admin, got " + describe(v));
          } else {
            user.permission = static_cast<Permission>(it - kPermissions.begin());
          }
        } else if (name == "key_prefixes") {
          bool ok = v.IsSequence();
          if (ok) {
            for (const YAML::Node& prefix : v) {
              if (!prefix.IsScalar()) ok = false;
              else user.key_prefixes.push_back(prefix.Scalar());
            }
          }
          if (!ok) bad(name, "expected a list of key prefixes, got " + describe(v));
        } else {
          bad(name, "unknown key; a user has name, password, password_sha256, permissions, key_prefixes");
        }
      }
      if (!has_name) bad("name", "missing");
      if (!has_password) bad("password", "missing (or give password_sha256)");
      for (const User& other : users) {
        if (has_name && other.name == user.name) bad("name", "user " + quote(user.name) + " listed twice");
      }
      users.push_back(std::move(user));
    }
    if (all_good) result_.config.users = std::move(users);
  }

  void loadSeeds(const KeySpec& spec, const YAML::Node& key, const YAML::Node& value) {
    if (!value.IsSequence()) return expected(spec, key, value);
    std::vector<Address> seeds;
    bool all_good = true;
    size_t index = 0;
    for (const YAML::Node& item : value) {
      std::optional<Address> address;
      if (item.IsScalar()) address = parseAddress(item.Scalar());
      if (address) {
        seeds.push_back(std::move(*address));
      } else {
        all_good = false;
        // An empty item's mark points past it; its list's key is the better place to look.
        YAML::Mark mark = item.IsNull() || item.Mark().is_null() ? key.Mark() : item.Mark();
        fail(mark, std::string(spec.path) + "[" + std::to_string(index) + "]",
             "expected host:port with a port from 1 to 65535, got " + describe(item));
      }
      ++index;
    }
    if (all_good) result_.config.seeds = std::move(seeds);
  }

  void expected(const KeySpec& spec, const YAML::Node& key, const YAML::Node& value) {
    fail(key.Mark(), spec.path, "expected " + expectation(spec) + ", got " + describe(value));
  }

 private:
  std::string source_;
  LoadResult result_;
};

}  // namespace

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
    result.errors.push_back(
        path + ": cannot read the configuration file: " + std::generic_category().message(error));
    return result;
  }
  return loadString(text, path);
}

LoadResult loadString(std::string_view yaml, std::string_view source_name) {
  Loader loader(source_name);
  try {
    return loader.run(yaml);
  } catch (const std::exception& e) {
    // yaml-cpp documents few of its throws; report rather than let one escape.
    LoadResult result;
    result.errors.push_back(std::string(source_name) +
                            ": cannot load the configuration: " + e.what());
    return result;
  }
}

std::optional<Address> parseAddress(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    size_t close = text.find(']');
    if (close == std::string_view::npos || text.substr(close + 1, 1) != ":") return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    if (!isIpv6(host)) return std::nullopt;  // brackets are for IPv6 only
  } else {
    // Redis prints "2001:db8::1:7000": the port is whatever follows the last ':'.
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos && !isIpv6(host)) return std::nullopt;
  }
  if (host.empty() || !std::all_of(host.begin(), host.end(), isHostChar)) return std::nullopt;
  std::optional<uint64_t> number = port.size() <= 5 ? parseUnsigned(port) : std::nullopt;
  if (!number || *number < 1 || *number > 65535) return std::nullopt;
  return Address{std::string(host), static_cast<uint16_t>(*number)};
}

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
      case Kind::kAddress:
        if (!validAddress(config.listen)) {
          report(spec.path,
                 "expected " + expectation(spec) + ", got " + quote(formatAddress(config.listen)));
        }
        break;
      case Kind::kAddressList:
        if (config.seeds.empty()) report(spec.path, "at least one seed is required");
        for (size_t i = 0; i < config.seeds.size(); ++i) {
          const Address& seed = config.seeds[i];
          std::string path = std::string(spec.path) + "[" + std::to_string(i) + "]";
          if (!validAddress(seed)) {
            report(path, "expected host:port with a port from 1 to 65535, got " +
                             quote(formatAddress(seed)));
          } else if (seed == config.listen) {
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
        break;
      case Kind::kChoice: {
        const std::string& value = config.*spec.choice.member;
        bool found = false;
        for (size_t i = 0; i < spec.choice.count; ++i) found |= value == spec.choice.choices[i];
        if (!found) report(spec.path, "expected " + expectation(spec) + ", got " + quote(value));
        break;
      }
      case Kind::kAdminAddress:
        if (config.admin_enabled && !validAddress(config.admin_listen)) {
          report(spec.path, "expected " + expectation(spec) + ", got " +
                                quote(formatAddress(config.admin_listen)));
        } else if (config.admin_enabled && config.admin_listen == config.listen) {
          report(spec.path, "is the proxy's own listen address; use another port or off");
        }
        break;
    }
  }
  if (!config.backend.user.empty() && config.backend.password.empty()) {
    report("backend.password", "required when backend.user is set");
  }
  if (config.limits.client_output_buffer_soft > config.limits.client_output_buffer) {
    report("limits.client_output_buffer_soft",
           "is " + formatSize(config.limits.client_output_buffer_soft) +
               ", more than the hard limit limits.client_output_buffer (" +
               formatSize(config.limits.client_output_buffer) + ")");
  }
  if (config.protected_mode && !authConfigured(config) && validAddress(config.listen) &&
      !isLoopbackHost(config.listen.host)) {
    report("protected_mode",
           "listen address " + quote(formatAddress(config.listen)) +
               " is not loopback and no users are configured: set protected_mode: false to serve "
               "other hosts without authentication");
  }
  return problems;
}

bool isLoopbackHost(const std::string& host) {
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  if (inet_pton(AF_INET6, host.substr(0, host.find('%')).c_str(), &v6) != 1) return false;
  if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
  return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

std::vector<std::pair<std::string, std::string>> settings(const Config& config) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const KeySpec& spec : kKeys) {
    std::string value;
    switch (spec.kind) {
      case Kind::kInteger:
      case Kind::kSize:
        value = std::to_string(spec.field.get(config));
        break;
      case Kind::kBool:
        value = spec.field.get(config) ? "true" : "false";
        break;
      case Kind::kAddress:
        value = formatAddress(config.listen);
        break;
      case Kind::kAddressList:
        for (const Address& seed : config.seeds) value += (value.empty() ? "" : ",") + formatAddress(seed);
        break;
      case Kind::kLogLevel:
        value = config.log_level;
        break;
      case Kind::kString:
        value = *spec.text.ref(const_cast<Config&>(config));
        break;
      case Kind::kSecret:  // never shown
        value = spec.text.ref(const_cast<Config&>(config))->empty() ? "" : "(set)";
        break;
      case Kind::kUsers:
        for (const User& user : config.users) value += (value.empty() ? "" : ",") + user.name;
        break;
      case Kind::kChoice:
        value = config.*spec.choice.member;
        break;
      case Kind::kAdminAddress:
        value = config.admin_enabled ? formatAddress(config.admin_listen) : "off";
        break;
    }
    out.emplace_back(std::string(spec.path), std::move(value));
  }
  return out;
}

bool isLive(std::string_view key) {
  const KeySpec* spec = findKey(key);
  return spec && spec->live;
}

std::vector<std::string> restartRequired(const Config& running, const Config& next) {
  std::vector<std::string> keys;
  auto before = settings(running);
  auto after = settings(next);
  for (size_t i = 0; i < before.size(); ++i) {
    if (before[i].second != after[i].second && !isLive(before[i].first)) keys.push_back(before[i].first);
  }
  return keys;
}

Config liveOnly(const Config& next, const Config& running) {
  Config out = next;
  for (const KeySpec& spec : kKeys) {
    if (spec.live) continue;
    switch (spec.kind) {
      case Kind::kInteger:
      case Kind::kSize:
      case Kind::kBool: spec.field.set(out, spec.field.get(running)); break;
      case Kind::kAddress: out.listen = running.listen; break;
      case Kind::kAddressList: out.seeds = running.seeds; break;
      case Kind::kLogLevel: out.log_level = running.log_level; break;
      case Kind::kChoice: out.*spec.choice.member = running.*spec.choice.member; break;
      case Kind::kAdminAddress:
        out.admin_enabled = running.admin_enabled;
        out.admin_listen = running.admin_listen;
        break;
      case Kind::kString:
      case Kind::kSecret: *spec.text.ref(out) = *spec.text.ref(const_cast<Config&>(running)); break;
      case Kind::kUsers: out.users = running.users; break;
    }
  }
  return out;
}

std::vector<std::string> changedSettings(const Config& running, const Config& next) {
  std::vector<std::string> keys;
  auto before = settings(running);
  auto after = settings(next);
  for (size_t i = 0; i < before.size(); ++i) {
    if (before[i].second != after[i].second) keys.push_back(before[i].first + "=" + after[i].second);
  }
  return keys;
}

LoadResult setSetting(const Config& config, std::string_view key, std::string_view value) {
  std::string name(key);
  for (char& c : name) c = toLower(c);
  Loader loader("SLOTGATE CONFIG SET", config);
  LoadResult result;
  const KeySpec* spec = findKey(name);
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
    loader.loadValue(*spec, YAML::Node(name), YAML::Node(std::string(value)));
  } catch (const std::exception& e) {
    result = loader.take();
    result.errors.push_back(name + ": " + e.what());
    return result;
  }
  result = loader.take();
  return result;
}

}  // namespace slotgate::config
