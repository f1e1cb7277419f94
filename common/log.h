// Named spdlog loggers, one per component ("proxy", "cluster", "backend", "session", ...), all
// sharing one sink and one level.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace slotgate::common {

std::shared_ptr<spdlog::logger> logger(const std::string& name);
// Returns false if `level` is not a spdlog level name.
bool setLogLevel(const std::string& level);
// "text" (human-readable lines) or "json" (one object per line: time, level, logger, pid, thread,
// msg); returns false for anything else. Applies to every logger, existing and future.
bool setLogFormat(const std::string& format);

}  // namespace slotgate::common
