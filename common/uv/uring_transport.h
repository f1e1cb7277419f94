// The io_uring transport of one EventLoop: the socket reads and writes of its TcpConnections go
// through one ring instead of read(2)/write(2) per socket. libuv still owns the loop, timers,
// signals, accept, connect and close; the ring's fd is polled by the loop (uv_poll), so its
// completions are handled in the loop's poll phase, and every request a turn queued (multishot
// receives, sends, cancels) is submitted by one io_uring_enter in the loop's check phase, after the
// turn's flushes. Reads use one shared pool of provided buffers (a buffer ring), so an idle
// connection holds none. Loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace slotgate::common::uv {

class EventLoop;
class TcpConnection;

enum class Transport { kAuto, kLibuv, kUring };

// "auto", "libuv", "uring" (the config key io.transport); nullopt-like kAuto for anything else is
// the caller's business: this only maps known names.
bool parseTransport(const std::string& name, Transport* out);
const char* transportName(Transport t);

class UringTransport {
 public:
  // A ring for `loop`, or nullptr (with the reason in `why`) when this build or this kernel cannot
  // do what the transport needs (io_uring, multishot receive, buffer rings).
  static std::unique_ptr<UringTransport> create(EventLoop& loop, std::string* why);
  ~UringTransport();
  UringTransport(const UringTransport&) = delete;
  UringTransport& operator=(const UringTransport&) = delete;

  // Queue a multishot receive on `fd` for `conn`; its data comes back through conn's uring hooks
  // until the receive ends (cancel, error, EOF, no buffers), which is reported once.
  void receive(int fd, TcpConnection* conn);
  // Queue one send of [data, data+len); the bytes must stay put until its completion.
  void send(int fd, TcpConnection* conn, const char* data, size_t len);
  // Queue a cancel of conn's receive (a pause), or of all its requests (a close): each cancelled
  // request still ends with its completion.
  void cancelReceive(TcpConnection* conn);
  void cancel(TcpConnection* conn);
  // One io_uring_enter for everything queued, then the completions already there.
  void submit();
  // Loop shutdown: submit, and wait (bounded) until no request is in flight.
  void drain();
  // Requests submitted or queued whose last completion has not been handled yet.
  size_t inFlight() const { return in_flight_; }

 private:
  struct Ring;
  explicit UringTransport(EventLoop& loop);
  void reap();
  void complete(uint64_t user_data, int res, uint32_t flags);
  void giveBack(uint16_t buffer_id);
  void cancelKind(TcpConnection* conn, uint64_t kind);
  void startPolling();
  void stopPolling();

  EventLoop& loop_;
  std::unique_ptr<Ring> ring_;
  size_t in_flight_ = 0;
  bool reaping_ = false;
};

}  // namespace slotgate::common::uv
