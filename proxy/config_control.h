// The running settings and how they change: SIGHUP and SLOTGATE RELOAD read the file again,
// SLOTGATE CONFIG SET changes one setting. Either way a new immutable snapshot is checked like at
// start, then published to every worker (Worker::applyConfig) and to the process-wide parts (log,
// slowlog). A bad file or value changes nothing and says why; settings that need a restart keep
// their running value and are named in the log.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/config.h"
#include "proxy/request/slotgate_command.h"
#include "proxy/request/slowlog.h"
#include "proxy/tls_contexts.h"

namespace slotgate {

using ConfigPtr = std::shared_ptr<const config::Config>;

struct ConfigSource {
  std::string path;                                // empty: started without -c
  std::function<void(config::Config&)> overrides;  // the command line's, re-applied on reload
};

class ConfigControl : public request::ControlPort {
 public:
  // A new snapshot and the TLS contexts built from it (certificates read again on every reload).
  using PublishFn = std::function<void(ConfigPtr, TlsContextsPtr)>;

  ConfigControl(ConfigPtr initial, TlsContextsPtr tls, ConfigSource source, request::Slowlog* slowlog);
  // Where new snapshots go (the workers); set before any reload.
  void setPublish(PublishFn publish) { publish_ = std::move(publish); }

  // Thread-safe. Both return a RESP reply (+OK or -ERR ...).
  std::string reload() override;
  std::string configSet(std::string_view key, std::string_view value) override;

  ConfigPtr current() const override;
  TlsContextsPtr tls() const;
  uint64_t reloads() const;
  uint64_t failures() const;

  // Sets the process-wide parts (log level and format, slowlog) from `config`.
  static void applyProcessWide(const config::Config& config, request::Slowlog* slowlog);

 private:
  std::string apply(config::Config next, const std::string& origin);
  std::string refuse(const std::string& origin, const std::vector<std::string>& problems);

  mutable std::mutex mutex_;
  ConfigPtr current_;
  TlsContextsPtr tls_;
  ConfigSource source_;
  request::Slowlog* slowlog_;
  PublishFn publish_;
  uint64_t reloads_ = 0;
  uint64_t failures_ = 0;
};

}  // namespace slotgate
