// One TLS connection as a ByteFilter over a pair of memory BIOs: socket bytes go into one, OpenSSL
// writes its records into the other, and neither touches a socket, so it runs over any transport.
#pragma once

#include <memory>
#include <string>

#include "common/buffer.h"
#include "common/byte_filter.h"

using SSL = struct ssl_st;
using BIO = struct bio_st;

namespace slotgate::common::tls {

class TlsSession final : public ByteFilter {
 public:
  // Takes ownership of `ssl` (already set to its side); `peer_name` is what the certificate was
  // checked against, for messages.
  TlsSession(SSL* ssl, std::string peer_name);
  ~TlsSession() override;
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  bool start() override;
  bool receive(std::string_view wire, Buffer& plain, bool* closed) override;
  bool seal(Buffer& out) override;
  bool wantsWrite() const override;
  bool established() const override { return established_; }
  const std::string& error() const override { return error_; }

 private:
  bool handshake();
  bool writeAll(std::string_view plain);
  void drainTo(Buffer& out);
  bool fail(int ssl_error, const char* during);

  SSL* ssl_;
  BIO* in_;         // socket -> OpenSSL (owned by ssl_)
  BIO* out_;        // OpenSSL -> socket (owned by ssl_)
  Buffer pending_;  // the handler's bytes written before the handshake finished
  std::string peer_name_;
  std::string error_;
  bool established_ = false;
};

}  // namespace slotgate::common::tls
