#include "common/uv/tcp_connection.h"

#include <cstring>

#include "common/uv/event_loop.h"

namespace slotgate::common::uv {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
constexpr uint64_t kLateTimerMs = 50;

}  // namespace

TcpConnection::TcpConnection(EventLoop& loop, Handler* handler, bool unix_socket)
    : loop_(loop), handler_(handler), unix_socket_(unix_socket) {
  if (unix_socket) {
    uv_pipe_init(loop_.raw(), &pipe_, 0);
  } else {
    uv_tcp_init(loop_.raw(), &tcp_);
  }
  tcp_.data = this;
  open_handles_ = 1;
}

TcpConnection::~TcpConnection() = default;

TcpConnection* TcpConnection::accept(EventLoop& loop, uv_stream_t* server, Handler* handler) {
  bool unix_socket = server->type == UV_NAMED_PIPE;
  auto* conn = new TcpConnection(loop, handler, unix_socket);
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&conn->tcp_)) != 0) {
    conn->close();
    return nullptr;
  }
  if (unix_socket) {
    char path[256] = {};
    size_t len = sizeof(path);
    if (uv_pipe_getsockname(&conn->pipe_, path, &len) == 0) conn->peer_.assign(path, len);
    conn->peer_ += ":0";
    return conn;
  }
  uv_tcp_nodelay(&conn->tcp_, 1);
  sockaddr_storage addr{};
  int len = sizeof(addr);
  if (uv_tcp_getpeername(&conn->tcp_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    char ip[64] = {};
    uint16_t port = 0;
    if (addr.ss_family == AF_INET6) {
      auto* a6 = reinterpret_cast<sockaddr_in6*>(&addr);
      uv_ip6_name(a6, ip, sizeof(ip));
      port = ntohs(a6->sin6_port);
    } else {
      auto* a4 = reinterpret_cast<sockaddr_in*>(&addr);
      uv_ip4_name(a4, ip, sizeof(ip));
      port = ntohs(a4->sin_port);
    }
    conn->peer_ = std::string(ip) + ":" + std::to_string(port);
  }
  return conn;
}

TcpConnection* TcpConnection::connect(EventLoop& loop, const std::string& host, uint16_t port, uint64_t timeout_ms,
                                      Handler* handler) {
  auto* conn = new TcpConnection(loop, handler);
  conn->peer_ = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  conn->connecting_ = true;
  conn->connect_ = std::make_unique<ConnectState>();
  uv_timer_init(loop.raw(), &conn->connect_->timer);
  conn->connect_->timer.data = conn;
  conn->open_handles_ = 2;
  conn->connect_->deadline_ms = loop.nowMs() + timeout_ms;
  uv_timer_start(
      &conn->connect_->timer,
      [](uv_timer_t* timer) {
        auto* self = static_cast<TcpConnection*>(timer->data);
        // Fired late because the loop was busy: the connection may be made and not yet seen.
        // Give I/O one more turn before calling it a timeout.
        uint64_t now = self->loop_.nowMs();
        if (!self->connect_->rechecked && now > self->connect_->deadline_ms + kLateTimerMs) {
          self->connect_->rechecked = true;
          uv_timer_start(timer, timer->timer_cb, kLateTimerMs, 0);
          return;
        }
        self->fail(UV_ETIMEDOUT);
      },
      timeout_ms, 0);
  conn->resolveAndConnect(host, port, timeout_ms);
  return conn;
}

void TcpConnection::resolveAndConnect(const std::string& host, uint16_t port, uint64_t) {
  sockaddr_in a4{};
  sockaddr_in6 a6{};
  if (uv_ip4_addr(host.c_str(), port, &a4) == 0) return connectTo(reinterpret_cast<sockaddr*>(&a4));
  if (uv_ip6_addr(host.c_str(), port, &a6) == 0) return connectTo(reinterpret_cast<sockaddr*>(&a6));
  // A name: resolve it off the loop thread. The pending request keeps the connection alive.
  resolving_ = true;
  ++open_handles_;
  connect_->resolve.data = this;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  int rc = uv_getaddrinfo(
      loop_.raw(), &connect_->resolve,
      [](uv_getaddrinfo_t* req, int status, addrinfo* res) {
        auto* self = static_cast<TcpConnection*>(req->data);
        self->resolving_ = false;
        if (!self->closing_) {
          if (status == 0 && res) {
            self->connectTo(res->ai_addr);
          } else {
            self->fail(status ? status : UV_EAI_NONAME);
          }
        }
        uv_freeaddrinfo(res);
        if (--self->open_handles_ == 0) delete self;
      },
      host.c_str(), std::to_string(port).c_str(), &hints);
  if (rc != 0) {
    resolving_ = false;
    --open_handles_;
    fail(rc);
  }
}

void TcpConnection::connectTo(const sockaddr* addr) {
  connect_->request.data = this;
  int rc = uv_tcp_connect(&connect_->request, &tcp_, addr, [](uv_connect_t* req, int status) {
    auto* self = static_cast<TcpConnection*>(req->data);
    if (status == UV_ECANCELED || self->closing_) return;
    self->finishConnect(status);
  });
  if (rc != 0) fail(rc);
}

void TcpConnection::finishConnect(int status) {
  if (status != 0) return fail(status);
  connecting_ = false;
  uv_tcp_nodelay(&tcp_, 1);
  if (filter_) return startFilter();  // the connect timer runs on through the handshake
  uv_timer_stop(&connect_->timer);
  if (handler_) handler_->onConnected(0);
  if (!closing_ && !out_.empty()) markDirty();
}

void TcpConnection::fail(int status) {
  if (closing_) return;
  Handler* handler = handler_;
  bool was_connecting = connecting_ || handshaking_;
  close();
  if (!handler) return;
  if (was_connecting) {
    handler->onConnected(status == 0 ? UV_ECONNRESET : status);
  } else {
    handler->onClosed(status);
  }
}

void TcpConnection::startReading() {
  if (reading_ || closing_) return;
  reading_ = true;
  uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), &TcpConnection::onAlloc, &TcpConnection::onReadCb);
}

void TcpConnection::stopReading() {
  if (!reading_ || closing_) return;
  reading_ = false;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
}

void TcpConnection::onAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* self = static_cast<TcpConnection*>(handle->data);
  // Nothing pending: read into the loop's shared buffer; else keep growing our own. A filter
  // takes all it is given at once: its input always lands in the shared buffer.
  self->reading_scratch_ = self->in_.empty() || self->filter_;
  Buffer& target = self->reading_scratch_ ? self->loop_.readScratch() : self->in_;
  size_t available = 0;
  char* dst = target.prepare(kReadChunk, &available);
  *buf = uv_buf_init(dst, static_cast<unsigned>(available));
}

void TcpConnection::onReadCb(uv_stream_t* stream, ssize_t nread, const uv_buf_t*) {
  auto* self = static_cast<TcpConnection*>(stream->data);
  if (self->filter_) return self->onFilteredRead(nread);
  Buffer& target = self->reading_scratch_ ? self->loop_.readScratch() : self->in_;
  if (nread > 0) {
    target.commit(static_cast<size_t>(nread));
    if (self->counters_) self->counters_->bytes_in += static_cast<uint64_t>(nread);
    if (self->handler_ && !self->closing_) self->handler_->onRead(target);
    if (self->reading_scratch_) {
      // Keep only what the handler left (an incomplete request, or input past a pause).
      if (!self->closing_) self->in_.append(target.readable());
      target.clear();
    }
    if (!self->closing_) self->in_.shrinkIfIdle(0);
  } else if (nread < 0) {
    target.clear();
    self->fail(nread == UV_EOF ? 0 : static_cast<int>(nread));
  }
}

void TcpConnection::write(std::string_view bytes) {
  if (closing_ && !close_after_flush_) return;
  out_.append(bytes);
  markDirty();
}

void TcpConnection::markDirty() {
  if (flush_scheduled_ || (closing_ && !close_after_flush_)) return;
  flush_scheduled_ = true;
  loop_.scheduleFlush(this);
}

void TcpConnection::flushNow() {
  flush_scheduled_ = false;
  if (writing_ || connecting_ || resolving_) return;
  if (filter_ && !sealOutput()) return;
  if (!out_.empty()) {
    std::string_view data = out_.readable();
    uv_buf_t buf = uv_buf_init(const_cast<char*>(data.data()), static_cast<unsigned>(data.size()));
    int n = uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1);
    if (n == UV_EAGAIN) n = 0;
    if (n < 0) {
      if (close_after_flush_) return closeHandles();
      return fail(n);
    }
    out_.consume(static_cast<size_t>(n));
    if (counters_) counters_->bytes_out += static_cast<uint64_t>(n) + out_.size();
    if (!out_.empty()) {
      // The kernel took part of it: hand the rest to libuv, which keeps the bytes until written.
      inflight_.swap(out_);
      std::string_view rest = inflight_.readable();
      uv_buf_t rest_buf = uv_buf_init(const_cast<char*>(rest.data()), static_cast<unsigned>(rest.size()));
      write_req_.data = this;
      writing_ = true;
      int rc =
          uv_write(&write_req_, reinterpret_cast<uv_stream_t*>(&tcp_), &rest_buf, 1, &TcpConnection::onWriteCb);
      if (rc != 0) {
        writing_ = false;
        if (close_after_flush_) return closeHandles();
        return fail(rc);
      }
      return;
    }
    out_.shrinkIfIdle(0);
  }
  if (close_after_flush_) return closeHandles();
  notifyDrained();
}

void TcpConnection::notifyDrained() {
  if (handler_ && !closing_ && !writing_ && out_.empty()) handler_->onDrained();
}

void TcpConnection::onWriteCb(uv_write_t* req, int status) {
  auto* self = static_cast<TcpConnection*>(req->data);
  self->writing_ = false;
  self->inflight_.clear();
  self->inflight_.shrinkIfIdle(0);
  if (status < 0) {
    if (self->close_after_flush_) return self->closeHandles();
    return self->fail(status);
  }
  if (self->closing_ && !self->close_after_flush_) return;
  // A filter may hold bytes of its own (a handshake reply) that are not in out_.
  if (!self->out_.empty() || self->filter_) return self->flushNow();
  if (self->close_after_flush_) return self->closeHandles();
  self->notifyDrained();
}

void TcpConnection::close(bool flush_first) {
  if (closing_) return;
  closing_ = true;
  handler_ = nullptr;
  if (flush_first && !connecting_ && pendingOutput() > 0) {
    close_after_flush_ = true;
    stopReading();
    if (!writing_) flushNow();
    return;
  }
  closeHandles();
}

void TcpConnection::closeHandles() {
  if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&tcp_))) return;
  close_after_flush_ = false;
  if (flush_scheduled_) {
    loop_.cancelFlush(this);
    flush_scheduled_ = false;
  }
  if (resolving_) uv_cancel(reinterpret_cast<uv_req_t*>(&connect_->resolve));
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &TcpConnection::onHandleClosed);
  if (connect_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&connect_->timer), &TcpConnection::onHandleClosed);
  }
}

void TcpConnection::onHandleClosed(uv_handle_t* handle) {
  auto* self = static_cast<TcpConnection*>(handle->data);
  if (--self->open_handles_ == 0) delete self;
}

}  // namespace slotgate::common::uv
