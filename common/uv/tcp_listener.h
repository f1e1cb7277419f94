// A listening TCP socket. Several listeners (one per worker loop) may bind the same address:
// SO_REUSEPORT is set on the socket before libuv adopts it, so the kernel spreads new connections.
//
// When accept fails for want of descriptors (EMFILE/ENFILE) or memory, the listener stops accepting
// for a moment instead of spinning on a socket that stays readable, logs once per episode, and
// resumes by itself; pending clients wait in the kernel's backlog meanwhile.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <uv.h>

namespace slotgate::common::uv {

class EventLoop;
class TcpConnection;
class Timer;

class TcpListener {
 public:
  // Called with each accepted connection, which has no handler yet: the callee sets one and
  // calls startReading().
  using AcceptFn = std::function<void(TcpConnection*)>;

  explicit TcpListener(EventLoop& loop);
  ~TcpListener();
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;

  // Returns 0 or a libuv error code; `error` then says what failed. Without `reuse_port` a port
  // another socket holds is refused (EADDRINUSE) instead of shared.
  int listen(const std::string& host, uint16_t port, int backlog, AcceptFn on_accept, std::string* error,
             bool reuse_port = true);
  void close();

  // How long accepting pauses after a failed accept.
  static constexpr uint64_t kAcceptBackoffMs = 200;

 private:
  static void onConnection(uv_stream_t* server, int status);
  int adopt(int fd, std::string* error);
  void closeHandle();
  void pauseAccepting(int status);

  EventLoop& loop_;
  uv_tcp_t* tcp_ = nullptr;  // freed in its close callback
  // A duplicate of the listening socket: libuv cannot stop watching a listening handle, so a pause
  // closes the handle and a resume adopts this copy (made while descriptors were available).
  int spare_fd_ = -1;
  int backlog_ = 0;
  bool failing_ = false;  // in an episode of failed accepts (logged once)
  std::unique_ptr<Timer> resume_;
  AcceptFn on_accept_;
};

}  // namespace slotgate::common::uv
