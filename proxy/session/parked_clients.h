// A worker's parked clients: idle clients whose session and connection were let go, leaving the
// socket watched bare (common::uv::SocketParking) and what the client remembers (ParkedState),
// so that thousands of idle clients cost a few hundred bytes each. The first byte (or EOF) from
// a parked client makes its session again, as it was; the worker runs it from there.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>

#include "common/slab_pool.h"
#include "common/uv/socket_parking.h"
#include "proxy/session/session.h"
#include "proxy/state/parked_state.h"

namespace slotgate::session {

class ParkedClients {
 public:
  // `resumed`: a session made again for a client that spoke (the worker keeps and starts it).
  // `gone`: a parked client was closed (killed, idle, shut down): one client fewer.
  ParkedClients(SessionContext& context, std::function<void(std::unique_ptr<Session>)> resumed,
                std::function<void()> gone);
  ~ParkedClients();
  ParkedClients(const ParkedClients&) = delete;
  ParkedClients& operator=(const ParkedClients&) = delete;

  // Parks `session`'s client if it can be parked now; true: the session is inert, to be deleted.
  bool park(Session& session);
  // CLIENT KILL of a parked client (nothing is pending: it closes at once).
  void kill(uint64_t id);
  // Closes the parked clients idle for `idle_ms` or more (0: none); returns how many.
  size_t closeIdle(uint64_t now_ms, uint64_t idle_ms);
  // Closes them all (shutdown, drain).
  void closeAll();

 private:
  struct Parked {
    state::ParkedState state;
    uint64_t idle_since_ms = 0;
    int fd = -1;
    bool unix_socket = false;
  };
  void wake(uint64_t id);
  using Map = std::unordered_map<uint64_t, Parked, std::hash<uint64_t>, std::equal_to<>,
                                 common::SlabAllocator<std::pair<const uint64_t, Parked>>>;
  void close(Map::iterator it);
  // A client that was never resumed leaves: out of the registry and the counts.
  void forget(uint64_t id);

  SessionContext& ctx_;
  std::function<void(std::unique_ptr<Session>)> resumed_;
  std::function<void()> gone_;
  common::uv::SocketParking parking_;
  Map clients_;  // by client id
};

}  // namespace slotgate::session
