// What a reload or SLOTGATE CONFIG sees of a Config: every setting as text, which settings apply
// live, and what changed between two configs (declared in config_loader.h).
#include "config/config_loader.h"

#include <string>
#include <utility>
#include <vector>

#include "config/config_keys.h"
#include "config/config_text.h"

namespace slotgate::config {

using detail::findKey;
using detail::formatAddress;
using detail::KeySpec;
using detail::Kind;
using detail::kKeys;

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
        value = config.listen_enabled ? formatAddress(config.listen) : "off";
        break;
      case Kind::kFileMode:
        value = detail::formatFileMode(static_cast<unsigned>(spec.field.get(config)));
        break;
      case Kind::kAddressList:
        for (const Address& seed : config.seeds) value += (value.empty() ? "" : ",") + formatAddress(seed);
        break;
      case Kind::kLogLevel:
        value = config.log_level;
        break;
      case Kind::kString:
      case Kind::kFile:
      case Kind::kDirectory:
        value = *spec.text.ref(const_cast<Config&>(config));
        break;
      case Kind::kTlsListen:
        value = config.tls.enabled ? formatAddress(config.tls.listen) : "off";
        break;
      case Kind::kSecret:  // never shown
        value = spec.text.ref(const_cast<Config&>(config))->empty() ? "" : "(set)";
        break;
      case Kind::kUsers:
        for (const User& user : config.users) value += (value.empty() ? "" : ",") + user.name;
        break;
      case Kind::kChoice:
        value = *spec.choice.ref(const_cast<Config&>(config));
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
      case Kind::kBool:
      case Kind::kFileMode:
        spec.field.set(out, spec.field.get(running));
        break;
      case Kind::kAddress:
        out.listen = running.listen;
        out.listen_enabled = running.listen_enabled;
        break;
      case Kind::kAddressList:
        out.seeds = running.seeds;
        break;
      case Kind::kLogLevel:
        out.log_level = running.log_level;
        break;
      case Kind::kChoice:
        *spec.choice.ref(out) = *spec.choice.ref(const_cast<Config&>(running));
        break;
      case Kind::kAdminAddress:
        out.admin_enabled = running.admin_enabled;
        out.admin_listen = running.admin_listen;
        break;
      case Kind::kTlsListen:
        out.tls.enabled = running.tls.enabled;
        out.tls.listen = running.tls.listen;
        break;
      case Kind::kString:
      case Kind::kSecret:
      case Kind::kFile:
      case Kind::kDirectory:
        *spec.text.ref(out) = *spec.text.ref(const_cast<Config&>(running));
        break;
      case Kind::kUsers:
        out.users = running.users;
        break;
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

}  // namespace slotgate::config
