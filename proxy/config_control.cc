#include "proxy/config_control.h"

#include <strings.h>

#include "common/log.h"
#include "config/config_loader.h"
#include "proxy/resp/errors.h"
#include "proxy/resp/writer.h"

namespace slotgate {
namespace {

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : std::string(separator)) + item;
  return out;
}

std::string ok() {
  std::string out;
  resp::appendSimple(out, "OK");
  return out;
}

}  // namespace

ConfigControl::ConfigControl(ConfigPtr initial, TlsContextsPtr tls, ConfigSource source, request::Slowlog* slowlog)
    : current_(std::move(initial)), tls_(std::move(tls)), source_(std::move(source)), slowlog_(slowlog) {}

TlsContextsPtr ConfigControl::tls() const {
  std::lock_guard lock(mutex_);
  return tls_;
}

ConfigPtr ConfigControl::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

uint64_t ConfigControl::reloads() const {
  std::lock_guard lock(mutex_);
  return reloads_;
}

uint64_t ConfigControl::failures() const {
  std::lock_guard lock(mutex_);
  return failures_;
}

void ConfigControl::applyProcessWide(const config::Config& config, request::Slowlog* slowlog) {
  common::setLogLevel(config.log_level);
  common::setLogFormat(config.log_format);
  if (slowlog) slowlog->configure(config.slowlog.slower_than_us, config.slowlog.max_len);
}

std::string ConfigControl::reload() {
  std::lock_guard lock(mutex_);
  if (source_.path.empty()) {
    common::logger("proxy")->warn("reload asked for, but slotgate was started without a configuration file");
    ++failures_;
    return std::string(resp::err::kNoReload);
  }
  config::LoadResult result = config::loadFile(source_.path);
  if (!result.ok()) return refuse(source_.path, result.errors);
  if (source_.overrides) source_.overrides(result.config);
  auto problems = config::validate(result.config);
  if (!problems.empty()) return refuse(source_.path, problems);
  return apply(std::move(result.config), source_.path);
}

std::string ConfigControl::configSet(std::string_view key, std::string_view value) {
  std::lock_guard lock(mutex_);
  std::string name(key);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  bool known = false;
  for (const auto& [setting, current] : config::settings(*current_)) known |= setting == name;
  if (!known) return resp::errorReply(fmt::runtime(resp::err::kUnknownSetting), key);
  if (!config::isLive(name)) return resp::errorReply(fmt::runtime(resp::err::kSettingNotLive), key);
  config::LoadResult result = config::setSetting(*current_, name, value);
  if (result.ok()) {
    auto problems = config::validate(result.config);
    result.errors.insert(result.errors.end(), problems.begin(), problems.end());
  }
  if (!result.ok()) {
    common::logger("proxy")->warn("SLOTGATE CONFIG SET {} {} refused: {}", name, value, join(result.errors, "; "));
    return resp::errorReply(fmt::runtime(resp::err::kBadSettingValue), value, key);
  }
  return apply(std::move(result.config), "SLOTGATE CONFIG SET");
}

std::string ConfigControl::refuse(const std::string& origin, const std::vector<std::string>& problems) {
  ++failures_;
  auto log = common::logger("proxy");
  log->error("reload from {} refused, keeping the running settings: {} problem(s)", origin, problems.size());
  for (const auto& problem : problems) log->error("  {}", problem);
  return resp::errorReply(fmt::runtime(resp::err::kReloadRefused), join(problems, "; "));
}

std::string ConfigControl::apply(config::Config next, const std::string& origin) {
  auto log = common::logger("proxy");
  std::vector<std::string> restart = config::restartRequired(*current_, next);
  auto snapshot = std::make_shared<const config::Config>(config::liveOnly(next, *current_));
  // Certificates and keys are read again whatever changed: rotating the files is the point.
  std::vector<std::string> tls_problems;
  TlsContextsPtr tls = buildTlsContexts(*snapshot, &tls_problems);
  if (!tls) return refuse(origin, tls_problems);
  std::vector<std::string> changed = config::changedSettings(*current_, *snapshot);
  ++reloads_;
  applyProcessWide(*snapshot, slowlog_);
  current_ = snapshot;
  tls_ = tls;
  if (publish_) publish_(snapshot, tls);
  log->info("settings from {} applied: {}", origin, changed.empty() ? "nothing changed" : join(changed, ", "));
  if (!restart.empty()) {
    log->warn("settings from {} that need a restart were not applied: {}", origin, join(restart, ", "));
  }
  return ok();
}

}  // namespace slotgate
