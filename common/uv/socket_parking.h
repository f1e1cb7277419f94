// Sockets of idle connections watched without a libuv handle each. One epoll set per loop holds
// them, and the loop watches that set through a single uv_poll_t: a parked socket costs the
// process its descriptor and nothing else here. The first event on a parked socket (bytes, EOF,
// an error) takes it out of the set and reports it once, to be adopted by a new TcpConnection.
#pragma once

#include <cstdint>
#include <functional>

#include <uv.h>

namespace slotgate::common::uv {

class EventLoop;

class SocketParking {
 public:
  // Called on the loop's thread with the key a socket was parked under; the socket is out of the
  // set by then (its owner adopts or closes it).
  using Wake = std::function<void(uint64_t key)>;

  SocketParking(EventLoop& loop, Wake wake);
  ~SocketParking();
  SocketParking(const SocketParking&) = delete;
  SocketParking& operator=(const SocketParking&) = delete;

  // Whether sockets can be parked here (the epoll set and its watcher exist).
  bool usable() const { return poll_ != nullptr; }
  // Watches `fd` (still owned by the caller) until its first event; false if it cannot be.
  bool park(int fd, uint64_t key);
  // Stops watching `fd` (its owner adopts it).
  void unpark(int fd);
  // Stops watching `fd` and closes it (the parked client is let go).
  void close(int fd);

 private:
  void drain();

  int epoll_fd_ = -1;
  uv_poll_t* poll_ = nullptr;
  Wake wake_;
};

}  // namespace slotgate::common::uv
