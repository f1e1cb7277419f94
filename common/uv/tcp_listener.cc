#include "common/uv/tcp_listener.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "common/uv/event_loop.h"
#include "common/uv/tcp_connection.h"

namespace slotgate::common::uv {

TcpListener::TcpListener(EventLoop& loop) : loop_(loop) {}

TcpListener::~TcpListener() { close(); }

int TcpListener::listen(const std::string& host, uint16_t port, int backlog, AcceptFn on_accept,
                        std::string* error, bool reuse_port) {
  on_accept_ = std::move(on_accept);
  sockaddr_storage addr{};
  sockaddr_in* a4 = reinterpret_cast<sockaddr_in*>(&addr);
  sockaddr_in6* a6 = reinterpret_cast<sockaddr_in6*>(&addr);
  socklen_t addr_len = 0;
  if (uv_ip4_addr(host.c_str(), port, a4) == 0) {
    addr_len = sizeof(*a4);
  } else if (uv_ip6_addr(host.c_str(), port, a6) == 0) {
    addr_len = sizeof(*a6);
  } else {
    *error = "listen address '" + host + "' is not an IPv4 or IPv6 address";
    return UV_EINVAL;
  }
  int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return -errno;
  }
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (reuse_port) ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), addr_len) != 0) {
    int err = errno;
    ::close(fd);
    *error = "bind " + host + ":" + std::to_string(port) + ": " + std::strerror(err);
    return -err;
  }
  tcp_ = new uv_tcp_t;
  uv_tcp_init(loop_.raw(), tcp_);
  tcp_->data = this;
  int rc = uv_tcp_open(tcp_, fd);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(tcp_), backlog, &TcpListener::onConnection);
  if (rc != 0) {
    *error = std::string("listen: ") + uv_strerror(rc);
    close();
  }
  return rc;
}

void TcpListener::close() {
  if (!tcp_) return;
  tcp_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(tcp_),
           [](uv_handle_t* handle) { delete reinterpret_cast<uv_tcp_t*>(handle); });
  tcp_ = nullptr;
}

void TcpListener::onConnection(uv_stream_t* server, int status) {
  auto* self = static_cast<TcpListener*>(server->data);
  if (!self) return;
  if (status < 0) {
    logger("proxy")->warn("accept failed: {}", uv_strerror(status));
    return;
  }
  if (TcpConnection* conn = TcpConnection::accept(self->loop_, server, nullptr)) self->on_accept_(conn);
}

}  // namespace slotgate::common::uv
