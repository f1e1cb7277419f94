#include "common/tls/tls_session.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <climits>

#include "common/tls/tls_context.h"

namespace slotgate::common::tls {
namespace {

constexpr size_t kReadChunk = 16 * 1024;  // one TLS record's worth of plaintext
constexpr size_t kMaxCall = size_t{1} << 30;

}  // namespace

TlsSession::TlsSession(SSL* ssl, std::string peer_name) : ssl_(ssl), peer_name_(std::move(peer_name)) {
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  // An empty input BIO means "wait for more", not end of stream.
  BIO_set_mem_eof_return(in_, -1);
  BIO_set_mem_eof_return(out_, -1);
  SSL_set_bio(ssl_, in_, out_);
}

TlsSession::~TlsSession() { SSL_free(ssl_); }

bool TlsSession::start() {
  ERR_clear_error();
  return handshake();
}

bool TlsSession::handshake() {
  int rc = SSL_do_handshake(ssl_);
  if (rc != 1) {
    int e = SSL_get_error(ssl_, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return true;
    return fail(e, "handshake");
  }
  established_ = true;
  if (!pending_.empty()) {
    bool ok = writeAll(pending_.readable());
    pending_.clear();
    pending_.shrinkIfIdle(0);
    return ok;
  }
  return true;
}

bool TlsSession::receive(std::string_view wire, Buffer& plain, bool* closed) {
  ERR_clear_error();
  while (!wire.empty()) {
    int n = BIO_write(in_, wire.data(), static_cast<int>(std::min(wire.size(), kMaxCall)));
    if (n <= 0) {
      error_ = "TLS: out of memory";
      return false;
    }
    wire.remove_prefix(static_cast<size_t>(n));
  }
  if (!established_ && (!handshake() || !established_)) return error_.empty();
  for (;;) {
    size_t available = 0;
    char* dst = plain.prepare(kReadChunk, &available);
    int n = SSL_read(ssl_, dst, static_cast<int>(std::min(available, kMaxCall)));
    if (n > 0) {
      plain.commit(static_cast<size_t>(n));
      continue;
    }
    int e = SSL_get_error(ssl_, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return true;
    if (e == SSL_ERROR_ZERO_RETURN) {
      *closed = true;
      return true;
    }
    return fail(e, "read");
  }
}

bool TlsSession::seal(Buffer& out) {
  if (!out.empty()) {
    ERR_clear_error();
    if (established_) {
      if (!writeAll(out.readable())) return false;
    } else {
      pending_.append(out.readable());
    }
    out.clear();
  }
  drainTo(out);
  return true;
}

bool TlsSession::writeAll(std::string_view plain) {
  while (!plain.empty()) {
    // A memory BIO takes everything: SSL_write does not stop half way.
    int n = SSL_write(ssl_, plain.data(), static_cast<int>(std::min(plain.size(), kMaxCall)));
    if (n <= 0) return fail(SSL_get_error(ssl_, n), "write");
    plain.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void TlsSession::drainTo(Buffer& out) {
  size_t pending = BIO_ctrl_pending(out_);
  while (pending > 0) {
    size_t available = 0;
    char* dst = out.prepare(pending, &available);
    int n = BIO_read(out_, dst, static_cast<int>(std::min({available, pending, kMaxCall})));
    if (n <= 0) break;
    out.commit(static_cast<size_t>(n));
    pending -= static_cast<size_t>(n);
  }
}

bool TlsSession::wantsWrite() const { return BIO_ctrl_pending(out_) > 0; }

bool TlsSession::fail(int ssl_error, const char* during) {
  long verify = SSL_get_verify_result(ssl_);
  std::string reason = takeOpensslError();
  if (verify != X509_V_OK && !established_) {
    error_ = "TLS certificate verify failed: " + std::string(X509_verify_cert_error_string(verify));
    if ((verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) &&
        !peer_name_.empty()) {
      error_ += " (expected " + peer_name_ + ")";
    }
  } else if (ssl_error == SSL_ERROR_SSL && !reason.empty()) {
    error_ = std::string("TLS ") + during + " failed: " + reason;
    if (reason.find("certificate required") != std::string::npos)
      error_ += " (the peer asks for a client certificate)";
  } else {
    error_ = std::string("TLS ") + during + " failed" + (reason.empty() ? "" : ": " + reason);
  }
  return false;
}

}  // namespace slotgate::common::tls
