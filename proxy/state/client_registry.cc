#include "proxy/state/client_registry.h"

#include <fmt/format.h>

namespace slotgate::state {

void ClientRegistry::add(const std::shared_ptr<ClientInfo>& info) {
  std::lock_guard lock(mutex_);
  clients_[info->id] = info;
}

void ClientRegistry::remove(uint64_t id) {
  std::lock_guard lock(mutex_);
  clients_.erase(id);
}

void ClientRegistry::withLock(const std::function<void()>& fn) {
  std::lock_guard lock(mutex_);
  fn();
}

std::string ClientRegistry::line(const ClientInfo& info, uint64_t now_ms) {
  std::lock_guard lock(mutex_);
  return lineLocked(info, now_ms);
}

// Redis 7.0's CLIENT LIST fields, in its order; buffer sizes are slotgate's, not a node's.
std::string ClientRegistry::lineLocked(const ClientInfo& info, uint64_t now_ms) const {
  int sub = info.subscriptions.load(std::memory_order_relaxed);
  int psub = info.patterns.load(std::memory_order_relaxed);
  int ssub = info.shard_subscriptions.load(std::memory_order_relaxed);
  int multi = info.multi.load(std::memory_order_relaxed);
  char flag_chars[4] = {};
  size_t n = 0;
  if (sub + psub + ssub > 0) flag_chars[n++] = 'P';
  if (multi >= 0) flag_chars[n++] = 'x';
  if (info.blocked.load(std::memory_order_relaxed)) flag_chars[n++] = 'b';
  if (n == 0) flag_chars[n++] = 'N';
  std::string_view flags(flag_chars, n);
  uint64_t active = info.last_active_ms.load(std::memory_order_relaxed);
  return fmt::format(
      "id={} addr={} laddr={} fd=-1 name={} age={} idle={} flags={} db=0 sub={} psub={} ssub={} "
      "multi={} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 "
      "tot-mem=0 events=r cmd={} user={} redir=-1 resp={}\n",
      info.id, info.addr, info.laddr, info.name(), (now_ms - info.created_ms) / 1000,
      (now_ms - std::min(now_ms, active)) / 1000, flags, sub, psub, ssub, multi,
      info.last_command.load(std::memory_order_relaxed), info.user, info.proto.load(std::memory_order_relaxed));
}

std::string ClientRegistry::list(uint64_t now_ms, const std::vector<uint64_t>& ids, const std::string& type) {
  std::lock_guard lock(mutex_);
  std::string out;
  auto add = [&](const std::shared_ptr<ClientInfo>& info) {
    bool pubsub = info->subscriptions + info->patterns + info->shard_subscriptions > 0;
    if (type == "pubsub" && !pubsub) return;
    if (type == "normal" && pubsub) return;
    if (type == "master" || type == "replica" || type == "slave") return;
    out += lineLocked(*info, now_ms);
  };
  if (ids.empty()) {
    for (auto& [id, weak] : clients_) {
      if (auto info = weak.lock()) add(info);
    }
  } else {
    for (uint64_t id : ids) {
      auto it = clients_.find(id);
      if (it == clients_.end()) continue;
      if (auto info = it->second.lock()) add(info);
    }
  }
  return out;
}

bool ClientRegistry::post(uint64_t id, std::function<void(ClientInfo*)> fn) {
  std::shared_ptr<ClientInfo> info;
  {
    std::lock_guard lock(mutex_);
    auto it = clients_.find(id);
    if (it != clients_.end()) info = it->second.lock();
  }
  if (!info || !info->owner) return false;
  std::weak_ptr<ClientInfo> weak = info;
  info->owner->post([weak, fn = std::move(fn)] {
    auto alive = weak.lock();
    fn(alive.get());
  });
  return true;
}

size_t ClientRegistry::kill(const KillFilter& filter) {
  std::vector<std::shared_ptr<ClientInfo>> victims;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, weak] : clients_) {
      auto info = weak.lock();
      if (!info) continue;
      if (filter.id != 0 && info->id != filter.id) continue;
      if (!filter.addr.empty() && info->addr != filter.addr) continue;
      if (!filter.laddr.empty() && info->laddr != filter.laddr) continue;
      if (!filter.user.empty() && info->user != filter.user) continue;
      bool pubsub = info->subscriptions + info->patterns + info->shard_subscriptions > 0;
      if (filter.type == "pubsub" && !pubsub) continue;
      if (filter.type == "normal" && pubsub) continue;
      if (filter.type == "master" || filter.type == "replica" || filter.type == "slave") continue;
      if (filter.skip_id != 0 && info->id == filter.skip_id) continue;
      victims.push_back(std::move(info));
    }
  }
  for (auto& info : victims) {
    if (!info->owner) continue;
    std::weak_ptr<ClientInfo> weak = info;
    info->owner->post([weak] {
      if (auto alive = weak.lock()) alive->kill();
    });
  }
  return victims.size();
}

}  // namespace slotgate::state
