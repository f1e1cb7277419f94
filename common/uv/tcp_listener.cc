#include "common/uv/tcp_listener.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "common/uv/event_loop.h"
#include "common/uv/tcp_connection.h"
#include "common/uv/timer.h"

namespace slotgate::common::uv {

TcpListener::TcpListener(EventLoop& loop) : loop_(loop) {}

TcpListener::~TcpListener() { close(); }

int TcpListener::adopt(int fd, std::string* error) {
  tcp_ = new uv_tcp_t;
  uv_tcp_init(loop_.raw(), tcp_);
  tcp_->data = this;
  int rc = uv_tcp_open(tcp_, fd);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(tcp_), backlog_, &TcpListener::onConnection);
  if (rc != 0 && error) *error = std::string("listen: ") + uv_strerror(rc);
  if (rc == 0 && spare_fd_ < 0) spare_fd_ = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);  // -1: no pause possible
  return rc;
}

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
  backlog_ = backlog;
  int rc = adopt(fd, error);
  if (rc != 0) close();
  return rc;
}

void TcpListener::closeHandle() {
  if (!tcp_) return;
  tcp_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(tcp_),
           [](uv_handle_t* handle) { delete reinterpret_cast<uv_tcp_t*>(handle); });
  tcp_ = nullptr;
}

void TcpListener::close() {
  closeHandle();
  resume_.reset();
  if (spare_fd_ >= 0) ::close(spare_fd_);
  spare_fd_ = -1;
}

void TcpListener::onConnection(uv_stream_t* server, int status) {
  auto* self = static_cast<TcpListener*>(server->data);
  if (!self) return;
  if (status < 0) return self->pauseAccepting(status);
  TcpConnection* conn = TcpConnection::accept(self->loop_, server, nullptr);
  if (!conn) return;
  if (self->failing_) {
    self->failing_ = false;
    logger("proxy")->info("accepting clients again");
  }
  self->on_accept_(conn);
}

void TcpListener::pauseAccepting(int status) {
  if (!failing_) {
    failing_ = true;
    logger("proxy")->warn("accept failed: {}; pausing new clients for {} ms at a time until it succeeds",
                          uv_strerror(status), kAcceptBackoffMs);
  }
  if (spare_fd_ < 0 || status == UV_ECONNABORTED) return;  // nothing to pause with, or harmless
  closeHandle();  // closes the listening descriptor; the socket lives on in spare_fd_
  int fd = spare_fd_;
  spare_fd_ = -1;
  if (!resume_) resume_ = std::make_unique<Timer>(loop_);
  resume_->start(kAcceptBackoffMs, 0, [this, fd] {
    std::string error;
    if (adopt(fd, &error) != 0) {
      logger("proxy")->error("cannot resume accepting clients: {}", error);
      closeHandle();
    }
  });
}

}  // namespace slotgate::common::uv
