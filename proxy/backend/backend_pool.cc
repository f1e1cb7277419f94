#include "proxy/backend/backend_pool.h"

#include <algorithm>

namespace slotgate::backend {

BackendConnection& BackendPool::get(const std::string& host, uint16_t port) {
  std::string key = keyOf(host, port);
  auto it = connections_.find(key);
  if (it == connections_.end()) {
    it = connections_.emplace(key, std::make_unique<BackendConnection>(loop_, host, port, options_)).first;
    it->second->setIoCounters(&io_);
  }
  return *it->second;
}

NodeLink& BackendPool::scriptLane(const std::string& host, uint16_t port) {
  std::string key = keyOf(host, port);
  auto it = lanes_.find(key);
  if (it == lanes_.end()) {
    it = lanes_.emplace(key, std::make_unique<BackendConnection>(loop_, host, port, options_)).first;
    it->second->setIoCounters(&io_);
  }
  return *it->second;
}

std::unique_ptr<NodeLink> BackendPool::openExclusive(const std::string& host, uint16_t port) {
  std::string key = keyOf(host, port);
  auto it = spares_.find(key);
  if (it == spares_.end()) return std::make_unique<BackendConnection>(loop_, host, port, options_);
  auto& spares = it->second;
  // A spare whose connect failed or whose connection closed is of no use: a fresh one replaces it.
  std::erase_if(spares, [](const auto& spare) { return !spare->connected() && !spare->connecting(); });
  auto ready = std::find_if(spares.begin(), spares.end(), [](const auto& spare) { return spare->connected(); });
  std::unique_ptr<NodeLink> link;
  if (ready != spares.end()) {
    link = std::move(*ready);
    spares.erase(ready);
  } else {
    link = std::make_unique<BackendConnection>(loop_, host, port, options_);
  }
  refill(key, host, port);
  return link;
}

void BackendPool::keepSpares(const std::string& host, uint16_t port) {
  if (options_.spare_links == 0) return;
  refill(keyOf(host, port), host, port);
}

void BackendPool::refill(const std::string& key, const std::string& host, uint16_t port) {
  auto& spares = spares_[key];
  while (spares.size() < options_.spare_links) {
    spares.push_back(std::make_unique<BackendConnection>(loop_, host, port, options_));
    spares.back()->probe();  // connects and sends the handshake now
  }
}

void BackendPool::checkTimeouts(uint64_t now_ms) {
  for (auto& [key, conn] : connections_) conn->checkTimeout(now_ms);
  for (auto& [key, conn] : lanes_) conn->checkTimeout(now_ms);
  for (auto& [key, spares] : spares_) {
    for (auto& spare : spares) spare->checkTimeout(now_ms);  // the handshake's reply
  }
}

void BackendPool::setOptions(BackendOptions options) {
  options_ = options;
  for (auto& [key, conn] : connections_) conn->setOptions(options_);
  for (auto& [key, conn] : lanes_) conn->setOptions(options_);
  // Spares speak the old handshake (credentials may have changed): new ones replace them.
  for (auto& [key, spares] : spares_) spares.clear();
}

}  // namespace slotgate::backend
