// TcpConnection's filtered path (TLS): socket bytes go through the ByteFilter on their way in and
// out. Kept apart so the plain path's code stays as it was; it reaches here through one branch.
#include <uv.h>

#include "common/log.h"
#include "common/uv/error_text.h"
#include "common/uv/event_loop.h"
#include "common/uv/tcp_connection.h"

namespace slotgate::common::uv {

std::string TcpConnection::failureText(int status) const {
  if (filter_ && status == kFilterFailed && !filter_->error().empty()) return filter_->error();
  if (filter_ && status == UV_ETIMEDOUT && handshaking_) return "TLS handshake did not finish in time";
  return errorText(status);
}

void TcpConnection::startFilter() {
  handshaking_ = true;
  if (!filter_->start()) return failFilter();
  startReading();
  markDirty();
}

void TcpConnection::onFilteredRead(ssize_t nread) {
  Buffer& wire = loop_.readScratch();
  if (nread < 0) {
    wire.clear();
    return fail(nread == UV_EOF ? 0 : static_cast<int>(nread));
  }
  if (nread == 0) return;
  wire.commit(static_cast<size_t>(nread));
  if (counters_) counters_->bytes_in += static_cast<uint64_t>(nread);
  bool peer_closed = false;
  bool ok = filter_->receive(wire.readable(), in_, &peer_closed);
  wire.clear();
  if (!ok) return failFilter();
  if (filter_->wantsWrite()) markDirty();
  if (handshaking_ && filter_->established()) {
    handshaking_ = false;
    uv_timer_stop(&connect_->timer);
    if (handler_) handler_->onConnected(0);
    if (closing_) return;
    if (!out_.empty()) markDirty();
  }
  if (!in_.empty() && handler_ && !closing_) handler_->onRead(in_);
  if (closing_) return;
  if (peer_closed) return fail(0);
  in_.shrinkIfIdle(0);
}

bool TcpConnection::sealOutput() {
  if (filter_->seal(out_)) return true;
  if (close_after_flush_) {
    closeHandles();
  } else {
    failFilter();
  }
  return false;
}

void TcpConnection::failFilter() {
  // A node's failure is logged by its owner (with the retry it plans); a client's only here.
  if (!connect_) logger("tls")->info("client {}: {}", peer_, filter_->error());
  fail(kFilterFailed);
}

}  // namespace slotgate::common::uv
