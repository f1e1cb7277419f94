// One TCP stream (accepted or outgoing) and its uv_tcp_t, or a client accepted on a unix socket
// (a uv_pipe_t; the stream calls are the same). The connection owns its handles and frees
// itself in their close callbacks: its owner calls close() and forgets the pointer. Until then it
// reports to its Handler; after close() it reports nothing.
//
// Reads land in an input buffer the handler consumes from. Writes are appended to an output buffer
// and flushed once per loop turn (try_write first, uv_write for the rest), so many replies or
// requests produced in one turn leave in one syscall. On a loop with an io_uring transport the
// socket's reads and writes go through the ring instead (tcp_connection_uring.cc); libuv keeps
// accept, connect and close either way.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <uv.h>

#include "common/buffer.h"
#include "common/byte_filter.h"
#include "common/slice_list.h"

namespace slotgate::common::uv {

class EventLoop;
class UringTransport;

// Bytes a group of connections moved (e.g. all of a worker's clients); one thread only.
struct IoCounters {
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
};

class TcpConnection {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    // Outgoing connections only: status 0 on success, else a libuv error code. On failure the
    // connection is already closing and must be forgotten.
    virtual void onConnected(int status) { (void)status; }
    // New bytes are at the end of `in`; consume what was used. `in` may be the loop's shared
    // read buffer: what is left unconsumed moves to input() after the call, so keep no reference.
    virtual void onRead(Buffer& in) = 0;
    // The peer closed, or an I/O error happened (`status`, a libuv code, 0 for EOF). The connection
    // is closing and must be forgotten.
    virtual void onClosed(int status) = 0;
    // Every byte written so far has reached the kernel (output is empty again). A handler that
    // stopped reading while its output was large resumes here.
    virtual void onDrained() {}
  };

  // Takes a pending connection from `server` (a TCP or unix-socket listener). Returns nullptr if
  // accept failed.
  static TcpConnection* accept(EventLoop& loop, uv_stream_t* server, Handler* handler);
  // Starts connecting to host:port (IP literal or name); the handler hears onConnected.
  static TcpConnection* connect(EventLoop& loop, const std::string& host, uint16_t port, uint64_t timeout_ms,
                                Handler* handler);
  // A connected socket given back after detach(): `peer` as peer() showed it. Takes `fd` (closed
  // on failure, which returns nullptr).
  static TcpConnection* adopt(EventLoop& loop, int fd, bool unix_socket, std::string peer, Handler* handler);

  // An idle connection gives its socket away (to be parked): returns a descriptor of the same
  // socket, now the caller's, and closes this connection. -1 (and nothing changes) unless
  // detachable(): nothing pending either way, the socket read and written through libuv without a
  // filter (a TLS session's state and the ring's receive cannot be handed over).
  int detach();
  bool detachable() const {
    return !closing_ && !connecting_ && !filter_ && !uring_ && !writing_ && pendingOutput() == 0 && in_.empty();
  }

  void setHandler(Handler* handler) { handler_ = handler; }
  // Runs every byte through `filter` (TLS) from now on; set it before any byte moves (right after
  // accept() or connect()). An outgoing connection then reports onConnected once the filter's
  // handshake is done or failed, within the same connect timeout. Null: the plain path.
  // A filtered connection reads and writes through libuv whatever the loop's transport: the filter
  // sits in that path.
  void setFilter(std::unique_ptr<ByteFilter> filter) {
    filter_ = std::move(filter);
    if (filter_) uring_ = nullptr;
  }
  bool filtered() const { return filter_ != nullptr; }
  // What a failure status means: the filter's reason for kFilterFailed, else the libuv error text.
  std::string failureText(int status) const;
  static constexpr int kFilterFailed = UV_EPROTO;
  // Where this connection adds the bytes it reads and writes; may be null.
  void setCounters(IoCounters* counters) { counters_ = counters; }
  void startReading();
  void stopReading();
  bool reading() const { return reading_; }

  // Bytes received and not consumed by an earlier onRead (a handler that paused comes back here).
  Buffer& input() { return in_; }
  void write(std::string_view bytes);
  // Queues a large value without copying it: it is written (writev) between the bytes written
  // before and after it, and the slice is let go once the kernel has it.
  void write(Slice slice);
  Buffer& output() { return out_; }  // for encoders that write in place; call markDirty() after
  void markDirty();
  size_t pendingOutput() const {
    return out_.size() + inflight_.size() + (slices_ ? slices_->bytes() : 0) +
           (inflight_slices_ ? inflight_slices_->bytes() : 0);
  }
  void flushNow();

  // Stops all reporting and frees the connection once libuv is done with it. Unsent output is
  // dropped unless `flush_first`, in which case it is written (best effort) before closing.
  void close(bool flush_first = false);
  bool closing() const { return closing_; }

  // "ip:port"; for a unix-socket client "path:0", as Redis shows it.
  const std::string& peer() const { return peer_; }
  // Accepted on a unix socket: a local client by construction.
  bool unixSocket() const { return unix_socket_; }

 private:
  TcpConnection(EventLoop& loop, Handler* handler, bool unix_socket = false);
  ~TcpConnection();

  void resolveAndConnect(const std::string& host, uint16_t port, uint64_t timeout_ms);
  void connectTo(const sockaddr* addr);
  void finishConnect(int status);
  void fail(int status);
  void closeHandles();
  void notifyDrained();
  // Whether this connection's write path sends slices_ (libuv's, with writev). A path that only
  // sends out_ (a byte filter, the io_uring transport) answers false: slices are then copied.
  bool writesSlices() const { return !filter_ && !uring_; }
  // The io_uring path (tcp_connection_uring.cc), used when uring_ is set.
  friend class UringTransport;
  void uringStartReceive();
  void uringFlush();
  void onUringData(const char* data, size_t len);
  void onUringReceiveEnded(int res);
  void onUringSent(int res);
  static void onAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void onReadCb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void onWriteCb(uv_write_t* req, int status);
  static void onHandleClosed(uv_handle_t* handle);
  // The filtered path (tcp_connection_filter.cc).
  void startFilter();
  void onFilteredRead(ssize_t nread);
  bool sealOutput();
  void failFilter();

  EventLoop& loop_;
  Handler* handler_;
  // Only outgoing connections need these; accepted ones (every client) do without.
  struct ConnectState {
    uv_timer_t timer;
    uv_connect_t request;
    uv_getaddrinfo_t resolve;
    uint64_t deadline_ms = 0;
    bool rechecked = false;
  };

  // Both begin with uv_stream_t's fields: every stream call takes &tcp_ for either.
  union {
    uv_tcp_t tcp_;
    uv_pipe_t pipe_;
  };
  std::unique_ptr<uv_write_t> write_req_;  // only while a write is in flight: idle clients are small
  std::unique_ptr<ConnectState> connect_;
  Buffer in_;
  Buffer out_;
  Buffer inflight_;  // bytes handed to uv_write, untouched until its callback
  // Large values queued among out_'s bytes, and those handed to uv_write; null while there are
  // none (most connections never have any).
  std::unique_ptr<SliceList> slices_;
  std::unique_ptr<SliceList> inflight_slices_;
  std::string peer_;
  IoCounters* counters_ = nullptr;
  UringTransport* uring_ = nullptr;     // the loop's ring, or null: libuv reads and writes
  std::unique_ptr<ByteFilter> filter_;  // null on the plain path
  int open_handles_ = 0;                // libuv handles and requests, and ring requests in flight
  bool receiving_ = false;              // a multishot receive is in the ring
  bool unix_socket_ = false;
  bool reading_ = false;
  bool connecting_ = false;
  bool handshaking_ = false;  // outgoing, connected, the filter's handshake not done yet
  bool resolving_ = false;
  bool writing_ = false;
  bool flush_scheduled_ = false;
  bool closing_ = false;
  bool close_after_flush_ = false;
  bool reading_scratch_ = false;  // the current read lands in the loop's shared buffer
};

}  // namespace slotgate::common::uv
