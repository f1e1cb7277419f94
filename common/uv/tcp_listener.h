// A listening TCP socket. Several listeners (one per worker loop) may bind the same address:
// SO_REUSEPORT is set on the socket before libuv adopts it, so the kernel spreads new connections.
#pragma once

#include <functional>
#include <string>

#include <uv.h>

namespace slotgate::common::uv {

class EventLoop;
class TcpConnection;

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
  int listen(const std::string& host, uint16_t port, int backlog, AcceptFn on_accept,
             std::string* error, bool reuse_port = true);
  void close();

 private:
  static void onConnection(uv_stream_t* server, int status);

  EventLoop& loop_;
  uv_tcp_t* tcp_ = nullptr;  // freed in its close callback
  AcceptFn on_accept_;
};

}  // namespace slotgate::common::uv
