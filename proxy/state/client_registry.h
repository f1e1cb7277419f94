// Every client of the process, across worker threads, for CLIENT LIST / CLIENT KILL / CLIENT INFO.
// A session registers its ClientInfo when it starts and removes it when it ends. Fields that change
// per command are atomics written by the owning worker; the rest change under the registry's
// mutex, which is taken only on connect, disconnect and the CLIENT commands, never per command.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace slotgate::state {

struct ClientInfo {
  uint64_t id = 0;
  std::string addr;   // the client's address
  std::string laddr;  // slotgate's address it connected to
  uint64_t created_ms = 0;
  // Guarded by the registry's mutex.
  std::string name;
  std::string user = "default";
  std::string lib_name;
  std::string lib_ver;
  // Written by the owning worker.
  std::atomic<const char*> last_command{"NULL"};
  std::atomic<uint64_t> last_active_ms{0};
  std::atomic<int> proto{2};
  std::atomic<int> subscriptions{0};
  std::atomic<int> patterns{0};
  std::atomic<int> shard_subscriptions{0};
  std::atomic<int> multi{-1};  // queued commands, or -1 outside MULTI
  std::atomic<bool> blocked{false};
  // Runs `fn` on the owning worker's loop (set by the worker; thread-safe).
  std::function<void(std::function<void()>)> post;
  // Called on the owning worker to close the client.
  std::function<void()> kill;
  // Called on the owning worker: CLIENT UNBLOCK of its blocking command (`error`: the ERROR
  // form); `done` hears, on that worker, whether a blocked command was unblocked.
  std::function<void(bool error, std::function<void(bool)> done)> unblock;
};

// What CLIENT KILL may filter on (the new form); an empty field matches everything.
struct KillFilter {
  uint64_t id = 0;
  std::string addr;
  std::string laddr;
  std::string user;
  std::string type;      // normal | pubsub | master | replica
  uint64_t skip_id = 0;  // SKIPME yes: the caller's own id
};

class ClientRegistry {
 public:
  uint64_t nextId() { return next_id_.fetch_add(1) + 1; }
  void add(const std::shared_ptr<ClientInfo>& info);
  void remove(uint64_t id);
  // Runs `fn` under the registry's lock (to change the guarded fields).
  void withLock(const std::function<void()>& fn);
  // CLIENT LIST lines (ids empty: every client), in id order.
  std::string list(uint64_t now_ms, const std::vector<uint64_t>& ids, const std::string& type);
  std::string line(const ClientInfo& info, uint64_t now_ms);
  // Asks each matching client's worker to close it; returns how many matched.
  size_t kill(const KillFilter& filter);
  // Runs `fn` on the worker of client `id`, with its info (null if the client left meanwhile);
  // false, and `fn` never runs, if there is no such client now.
  bool post(uint64_t id, std::function<void(ClientInfo*)> fn);

 private:
  std::string lineLocked(const ClientInfo& info, uint64_t now_ms) const;

  std::atomic<uint64_t> next_id_{0};
  std::mutex mutex_;
  std::map<uint64_t, std::weak_ptr<ClientInfo>> clients_;
};

}  // namespace slotgate::state
