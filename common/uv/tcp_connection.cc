#include "common/uv/tcp_connection.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "common/uv/event_loop.h"
#include "common/uv/uring_transport.h"

namespace slotgate::common::uv {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
// The loop's shared buffer (one per worker) reads more at once: a large value then often arrives
// whole, and is forwarded as a slice of it without a single copy.
constexpr size_t kScratchRead = 256 * 1024;
constexpr uint64_t kLateTimerMs = 50;
constexpr size_t kMaxTryVecs = 64;  // pieces tried in one writev; what is left goes to uv_write

// The pieces of `out` and `slices` (may be null), in order, as libuv buffers.
size_t gather(const Buffer& out, const SliceList* slices, uv_buf_t* bufs, size_t max) {
  if (!slices) {
    std::string_view data = out.readable();
    bufs[0] = uv_buf_init(const_cast<char*>(data.data()), static_cast<unsigned>(data.size()));
    return 1;
  }
  std::vector<IoVec> vecs(max);
  size_t count = slices->gather(out, vecs.data(), max);
  for (size_t i = 0; i < count; ++i) {
    bufs[i].base = const_cast<char*>(vecs[i].data);
    bufs[i].len = vecs[i].size;
  }
  return count;
}

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
  uring_ = loop_.uring();
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

TcpConnection* TcpConnection::adopt(EventLoop& loop, int fd, bool unix_socket, std::string peer,
                                    Handler* handler) {
  auto* conn = new TcpConnection(loop, handler, unix_socket);
  int rc = unix_socket ? uv_pipe_open(&conn->pipe_, fd) : uv_tcp_open(&conn->tcp_, fd);
  if (rc != 0) {
    ::close(fd);
    conn->close();
    return nullptr;
  }
  conn->peer_ = std::move(peer);
  return conn;
}

int TcpConnection::detach() {
  if (!detachable()) return -1;
  uv_os_fd_t fd = -1;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(&tcp_), &fd) != 0) return -1;
  // The duplicate keeps the socket open when libuv closes its own descriptor (after taking it out
  // of the loop's epoll set, so no stale registration is left behind).
  int kept = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (kept < 0) return -1;
  stopReading();
  close();
  return kept;
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
  if (uring_ && reading_ && !closing_) uringStartReceive();
  if (!closing_ && (!out_.empty() || slices_)) markDirty();
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
  if (uring_) return connecting_ || resolving_ ? void() : uringStartReceive();
  uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), &TcpConnection::onAlloc, &TcpConnection::onReadCb);
}

void TcpConnection::stopReading() {
  if (!reading_ || closing_) return;
  reading_ = false;
  if (uring_) return receiving_ ? uring_->cancelReceive(this) : void();  // a send in flight goes on
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
}

void TcpConnection::onAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* self = static_cast<TcpConnection*>(handle->data);
  // Nothing pending: read into the loop's shared buffer; else keep growing our own. A filter
  // takes all it is given at once: its input always lands in the shared buffer.
  self->reading_scratch_ = self->in_.empty() || self->filter_;
  Buffer& target = self->reading_scratch_ ? self->loop_.readScratch() : self->in_;
  size_t available = 0;
  char* dst = target.prepare(self->reading_scratch_ ? kScratchRead : kReadChunk, &available);
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
      // Keep only what the handler left (an incomplete request, or input past a pause). A large
      // part of a value keeps its storage rather than being copied.
      if (!self->closing_) {
        if (target.size() >= kSliceMinBytes && self->in_.empty()) {
          self->in_.swap(target);
        } else {
          self->in_.append(target.readable());
        }
      }
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

void TcpConnection::write(Slice slice) {
  if ((closing_ && !close_after_flush_) || slice.size() == 0) return;
  if (!writesSlices()) return write(slice.view());
  if (!slices_) slices_ = std::make_unique<SliceList>();
  slices_->add(out_, std::move(slice));
  markDirty();
}

void TcpConnection::flushNow() {
  flush_scheduled_ = false;
  if (writing_ || connecting_ || resolving_) return;
  if (uring_) return uringFlush();
  if (filter_ && !sealOutput()) return;  // a filter's output is out_ alone: it never queues slices
  if (!out_.empty() || slices_) {
    uv_buf_t bufs[kMaxTryVecs];
    size_t count = gather(out_, slices_.get(), bufs, kMaxTryVecs);
    size_t total = out_.size() + (slices_ ? slices_->bytes() : 0);
    int n = uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_), bufs, static_cast<unsigned>(count));
    if (n == UV_EAGAIN) n = 0;
    if (n < 0) {
      if (close_after_flush_) return closeHandles();
      return fail(n);
    }
    if (slices_) {
      slices_->consume(out_, static_cast<size_t>(n));
      if (slices_->empty()) slices_.reset();
    } else {
      out_.consume(static_cast<size_t>(n));
    }
    if (counters_) counters_->bytes_out += total;
    if (!out_.empty() || slices_) {
      // The kernel took part of it: hand the rest to libuv, which keeps the bytes until written.
      inflight_.swap(out_);
      inflight_slices_.swap(slices_);
      size_t pieces = inflight_slices_ ? inflight_slices_->maxPieces() : 1;
      std::vector<uv_buf_t> rest(pieces);
      size_t rest_count = gather(inflight_, inflight_slices_.get(), rest.data(), pieces);
      write_req_ = std::make_unique<uv_write_t>();
      write_req_->data = this;
      writing_ = true;
      int rc = uv_write(write_req_.get(), reinterpret_cast<uv_stream_t*>(&tcp_), rest.data(),
                        static_cast<unsigned>(rest_count), &TcpConnection::onWriteCb);
      if (rc != 0) {
        writing_ = false;
        write_req_.reset();
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
  if (handler_ && !closing_ && !writing_ && out_.empty() && !slices_) handler_->onDrained();
}

void TcpConnection::onWriteCb(uv_write_t* req, int status) {
  auto* self = static_cast<TcpConnection*>(req->data);
  self->writing_ = false;
  self->inflight_.clear();
  self->inflight_.shrinkIfIdle(0);
  self->inflight_slices_.reset();
  self->write_req_.reset();  // libuv is done with it
  if (status < 0) {
    if (self->close_after_flush_) return self->closeHandles();
    return self->fail(status);
  }
  if (self->closing_ && !self->close_after_flush_) return;
  // A filter may hold bytes of its own (a handshake reply) that are not in out_.
  if (!self->out_.empty() || self->slices_ || self->filter_) return self->flushNow();
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
  // Requests in the ring hold the connection (open_handles_) until their last completion.
  if (uring_ && (receiving_ || writing_)) uring_->cancel(this);
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
