// TcpConnection's reads and writes through the loop's io_uring transport. The same contract as
// the libuv path: reads reach the handler (through the loop's shared buffer when nothing is
// pending), output is written once per loop turn, onDrained when all of it reached the kernel.
// Each request in the ring counts in open_handles_, so the connection outlives its completions.
#include <cerrno>

#include <uv.h>

#include "common/uv/event_loop.h"
#include "common/uv/tcp_connection.h"
#include "common/uv/uring_transport.h"

namespace slotgate::common::uv {

void TcpConnection::uringStartReceive() {
  if (receiving_ || closing_) return;
  uv_os_fd_t fd = -1;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(&tcp_), &fd) != 0) return fail(UV_EBADF);
  receiving_ = true;
  ++open_handles_;
  uring_->receive(fd, this);
}

void TcpConnection::onUringData(const char* data, size_t len) {
  if (closing_) return;
  if (counters_) counters_->bytes_in += len;
  if (!reading_) {
    // Paused (the receive's cancel is on its way): keep the bytes for the handler's return.
    in_.append(std::string_view(data, len));
    return;
  }
  // As onReadCb: through the loop's shared buffer when nothing is pending, keeping what is left.
  reading_scratch_ = in_.empty();
  Buffer& target = reading_scratch_ ? loop_.readScratch() : in_;
  target.append(std::string_view(data, len));
  if (handler_ && !closing_) handler_->onRead(target);
  if (reading_scratch_) {
    if (!closing_) in_.append(target.readable());
    target.clear();
  }
  if (!closing_) in_.shrinkIfIdle(0);
}

void TcpConnection::onUringReceiveEnded(int res) {
  receiving_ = false;
  if (!closing_) {
    if (res == 0) {
      fail(0);  // the peer closed
    } else if (res == -ECANCELED || res == -ENOBUFS) {
      // Cancelled by a pause, or out of shared buffers: receive again if reading by now.
      if (reading_) uringStartReceive();
    } else {
      fail(res);  // -errno is libuv's error code on Linux
    }
  }
  if (--open_handles_ == 0) delete this;
}

void TcpConnection::uringFlush() {
  if (!out_.empty()) {
    uv_os_fd_t fd = -1;
    if (uv_fileno(reinterpret_cast<uv_handle_t*>(&tcp_), &fd) != 0) {
      if (close_after_flush_) return closeHandles();
      return fail(UV_EBADF);
    }
    // inflight_ stays untouched until the send completes.
    inflight_.swap(out_);
    std::string_view data = inflight_.readable();
    if (counters_) counters_->bytes_out += data.size();
    writing_ = true;
    ++open_handles_;
    uring_->send(fd, this, data.data(), data.size());
    return;
  }
  if (close_after_flush_) return closeHandles();
  notifyDrained();
}

void TcpConnection::onUringSent(int res) {
  writing_ = false;
  bool gone = closing_ && !close_after_flush_;
  if (res < 0 || gone) {
    inflight_.clear();
    inflight_.shrinkIfIdle(0);
    if (!gone) {
      if (close_after_flush_) {
        closeHandles();
      } else {
        fail(res);
      }
    }
  } else {
    inflight_.consume(static_cast<size_t>(res));
    uv_os_fd_t fd = -1;
    if (!inflight_.empty() && uv_fileno(reinterpret_cast<uv_handle_t*>(&tcp_), &fd) == 0) {
      // A short send (the socket's buffer is full): the rest goes when the ring says it can.
      writing_ = true;
      std::string_view rest = inflight_.readable();
      uring_->send(fd, this, rest.data(), rest.size());
      return;  // still holds its count in open_handles_
    }
    inflight_.clear();
    inflight_.shrinkIfIdle(0);
    if (!out_.empty()) {
      flushNow();
    } else if (close_after_flush_) {
      closeHandles();
    } else {
      notifyDrained();
    }
  }
  if (--open_handles_ == 0) delete this;
}

}  // namespace slotgate::common::uv
