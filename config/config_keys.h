// The configuration schema: one KeySpec row per setting (kKeys, in config_keys.cc) drives the walk
// over the YAML document, the type and range checks, the "did you mean" hints, validate(),
// settings() and the reload rules, so a new setting is one row plus its field in config.h.
// Internal to the config library.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "config/config.h"

namespace slotgate::config::detail {

enum class Kind {
  kInteger,
  kSize,
  kBool,
  kAddress,
  kAddressList,
  kLogLevel,
  kString,
  kSecret,
  kUsers,
  kChoice,
  kAdminAddress,
  kFileMode,   // octal permission bits, e.g. "0660"
  kFile,       // a path to a readable file (checked when loaded)
  kDirectory,  // a path to a readable directory (checked when loaded)
  kTlsListen   // tls.listen: host:port, or off
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

// A setting that takes one of a few words (kChoice).
struct ChoiceField {
  std::string* (*ref)(Config&) = nullptr;
  const char* const* choices = nullptr;
  size_t count = 0;
};

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

// Every setting, in schema order (the order of SLOTGATE CONFIG GET and the reload messages).
extern const std::span<const KeySpec> kKeys;

// A user's permissions, in the order of enum Permission.
inline constexpr std::array<std::string_view, 3> kPermissions{"read-only", "read-write", "admin"};

inline constexpr std::array<std::string_view, 7> kLogLevels{"trace", "debug",    "info", "warn",
                                                            "error", "critical", "off"};

// The row for a dotted key, or nullptr.
const KeySpec* findKey(std::string_view path);

// Whether `path` is a section: some key is nested under it.
bool isSection(std::string_view path);

// The closest known key for a misspelt or misplaced one: first a name within two edits in the
// same section (`prefix`, with its trailing '.'), then the same name in another section (e.g.
// connect_ms written at the top level). Empty when nothing is close.
std::string suggestKey(std::string_view prefix, std::string_view name);

// What a key accepts, as it reads after "expected ".
std::string expectation(const KeySpec& spec);

}  // namespace slotgate::config::detail
