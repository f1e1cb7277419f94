#include "proxy/request/script_cache.h"

#include <algorithm>

#include "common/digest.h"

namespace slotgate::request {

std::string ScriptCache::remember(std::string_view body) {
  std::string sha = common::sha1Hex(body);
  if (capacity_ == 0) return sha;
  std::lock_guard lock(mutex_);
  if (auto it = index_.find(sha); it != index_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return sha;
  }
  lru_.emplace_front(sha, std::string(body));
  index_[sha] = lru_.begin();
  if (lru_.size() > capacity_) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return sha;
}

std::optional<std::string> ScriptCache::find(std::string_view sha) {
  std::string key(sha);
  std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
  std::lock_guard lock(mutex_);
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

bool ScriptCache::contains(std::string_view sha) {
  std::string key(sha);
  std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
  std::lock_guard lock(mutex_);
  return index_.count(key) > 0;
}

void ScriptCache::clear() {
  std::lock_guard lock(mutex_);
  lru_.clear();
  index_.clear();
}

size_t ScriptCache::size() {
  std::lock_guard lock(mutex_);
  return lru_.size();
}

}  // namespace slotgate::request
