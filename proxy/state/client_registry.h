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
#include <string_view>
#include <vector>

#include "common/slab_pool.h"

namespace slotgate::state {

// What may be asked of a live client, on its worker's loop.
class ClientControl {
 public:
  virtual ~ClientControl() = default;
  // CLIENT KILL: what is already written goes out, then the connection closes.
  virtual void kill() = 0;
  // CLIENT UNBLOCK of its blocking command (`error`: the ERROR form); `done` hears, on that
  // worker, whether a blocked command was unblocked.
  virtual void unblock(bool error, std::function<void(bool)> done) = 0;
};

// The worker that serves a client: its loop, and its clients while they are parked (idle, their
// socket watched without a session).
class ClientOwner {
 public:
  virtual ~ClientOwner() = default;
  // Runs `fn` on the owner's loop (thread-safe).
  virtual void post(std::function<void()> fn) = 0;
  // On the owner's loop: closes parked client `id`, if it is still parked.
  virtual void killParked(uint64_t id) = 0;
};

// One client's entry. Kept while the client is parked, so it is small (what most clients never
// set, name and library, costs one pointer) and lives in slab blocks: make it with makeClientInfo().
struct ClientInfo {
  uint64_t id = 0;
  std::string addr;   // the client's address
  std::string laddr;  // slotgate's address it connected to
  uint64_t created_ms = 0;
  // Guarded by the registry's mutex.
  std::string user = "default";
  const std::string& name() const { return labels ? labels->name : kNoLabel; }
  const std::string& libName() const { return labels ? labels->lib_name : kNoLabel; }
  void setName(std::string_view value) { label().name = value; }
  void setLibName(std::string_view value) { label().lib_name = value; }
  void setLibVer(std::string_view value) { label().lib_ver = value; }
  // Written by the owning worker.
  std::atomic<const char*> last_command{"NULL"};
  std::atomic<uint64_t> last_active_ms{0};
  std::atomic<int> proto{2};
  std::atomic<int> subscriptions{0};
  std::atomic<int> patterns{0};
  std::atomic<int> shard_subscriptions{0};
  std::atomic<int> multi{-1};  // queued commands, or -1 outside MULTI
  std::atomic<bool> blocked{false};
  ClientOwner* owner = nullptr;      // set before the entry is registered
  ClientControl* control = nullptr;  // the live client; null while parked (owner's loop only)

  // On the owner's loop: CLIENT KILL, live or parked.
  void kill() {
    if (control) {
      control->kill();
    } else if (owner) {
      owner->killParked(id);
    }
  }

 private:
  struct Labels {
    std::string name;
    std::string lib_name;
    std::string lib_ver;
    // Long-lived, one per named client: kept apart from the heap sessions free (common/slab_pool.h).
    static void* operator new(size_t bytes) { return common::SlabPool::allocate(bytes); }
    static void operator delete(void* p, size_t bytes) { common::SlabPool::deallocate(p, bytes); }
  };
  Labels& label() {
    if (!labels) labels = std::make_unique<Labels>();
    return *labels;
  }
  static inline const std::string kNoLabel;
  std::unique_ptr<Labels> labels;
};

inline std::shared_ptr<ClientInfo> makeClientInfo() {
  return std::allocate_shared<ClientInfo>(common::SlabAllocator<ClientInfo>());
}

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
  using Entry = std::pair<const uint64_t, std::weak_ptr<ClientInfo>>;
  std::map<uint64_t, std::weak_ptr<ClientInfo>, std::less<>, common::SlabAllocator<Entry>> clients_;
};

}  // namespace slotgate::state
