// A transform between a connection's socket bytes and the bytes its handler reads and writes (TLS
// is the one there is). The connection keeps a pointer to one, null on the plain path, and calls
// it only when set: the plain path pays one branch per read and per flush, and no filter code.
#pragma once

#include <string>
#include <string_view>

#include "common/buffer.h"

namespace slotgate::common {

class ByteFilter {
 public:
  virtual ~ByteFilter() = default;

  // The connecting side only: begins the handshake; its first bytes are then waiting for seal().
  virtual bool start() = 0;
  // Bytes from the socket. What they carry for the handler is appended to `plain`; `*closed` is set
  // when the peer ended the session cleanly. False on a fatal error (error() says why).
  virtual bool receive(std::string_view wire, Buffer& plain, bool* closed) = 0;
  // In place: takes the handler's bytes from `out` (kept inside until the handshake is done) and
  // leaves in `out` every byte due on the socket, in order. False on a fatal error.
  virtual bool seal(Buffer& out) = 0;
  // Bytes due on the socket that no seal() has taken yet (handshake replies, alerts).
  virtual bool wantsWrite() const = 0;
  // The handshake is done: the handler's bytes now flow.
  virtual bool established() const = 0;
  // Why the last call failed, for a log line: "certificate verify failed: ...".
  virtual const std::string& error() const = 0;
};

}  // namespace slotgate::common
