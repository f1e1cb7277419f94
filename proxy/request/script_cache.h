// Lua scripts the proxy has seen (SCRIPT LOAD, EVAL), by SHA-1, bounded and least-recently-used
// first out. When a node answers NOSCRIPT to an EVALSHA (a promoted replica, a node that just got
// the slot), the request loads the script there and retries, so the client never sees it.
// Shared by every worker; touched only by script commands, under a mutex.
#pragma once

#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace slotgate::request {

class ScriptCache {
 public:
  explicit ScriptCache(size_t capacity) : capacity_(capacity) {}

  // Remembers `body`; returns its SHA-1 (lower-case hex).
  std::string remember(std::string_view body);
  std::optional<std::string> find(std::string_view sha);
  // Whether slotgate can run the script anywhere (SCRIPT EXISTS): it knows the body.
  bool contains(std::string_view sha);
  size_t size();
  // SCRIPT FLUSH through the proxy: the client expects NOSCRIPT afterwards, as from one server.
  void clear();

 private:
  using Entry = std::pair<std::string, std::string>;  // sha, body
  size_t capacity_;
  std::mutex mutex_;
  std::list<Entry> lru_;  // most recent first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace slotgate::request
