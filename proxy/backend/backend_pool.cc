#include "proxy/backend/backend_pool.h"

namespace slotgate::backend {

BackendConnection& BackendPool::get(const std::string& host, uint16_t port) {
  std::string key = host + " " + std::to_string(port);
  auto it = connections_.find(key);
  if (it == connections_.end()) {
    it = connections_.emplace(key, std::make_unique<BackendConnection>(loop_, host, port, options_)).first;
    it->second->setIoCounters(&io_);
  }
  return *it->second;
}

void BackendPool::checkTimeouts(uint64_t now_ms) {
  for (auto& [key, conn] : connections_) conn->checkTimeout(now_ms);
}

}  // namespace slotgate::backend
