// TLS contexts (the only OpenSSL user besides common/digest): one per side and configuration,
// built from files at start and on every reload, shared by every thread's connections. A context
// makes the per-connection ByteFilter (tls_session.h) that TcpConnection runs between its socket
// and its buffers. Replacing a context on reload leaves the connections made from the old one
// running: each session holds its own reference.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/byte_filter.h"

using SSL_CTX = struct ssl_ctx_st;

namespace slotgate::common::tls {

struct TlsSettings {
  std::string ca_file;              // PEM bundle of trusted CAs; with ca_dir empty too: the system's store
  std::string ca_dir;               // a c_rehash'ed directory of CA certificates
  std::string cert_file;            // own certificate chain (PEM): the server's, or a client certificate
  std::string key_file;             // its private key (PEM, unencrypted)
  std::string min_version = "1.2";  // "1.2" or "1.3"
  std::string ciphers;              // TLS 1.2 cipher list, OpenSSL syntax; empty: OpenSSL's default
  std::string ciphersuites;         // TLS 1.3 suites, OpenSSL syntax; empty: OpenSSL's default
  // Client side: check the server's chain. Server side: ask for a client certificate, refuse
  // connections without a valid one (mutual TLS).
  bool verify_peer = true;
  // Client side: the server's certificate must name the host or address dialed (or server_name).
  bool verify_name = true;
  std::string server_name;  // client side: the name to check instead of the dialed host
  // Prefixes the setting names in messages, e.g. "backend.tls.".
  std::string key_prefix;
};

class TlsContext {
 public:
  // Null, with one message per problem (each naming its setting), when a file cannot be used.
  static std::shared_ptr<const TlsContext> client(const TlsSettings& settings, std::vector<std::string>* problems);
  static std::shared_ptr<const TlsContext> server(const TlsSettings& settings, std::vector<std::string>* problems);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // A filter for one new connection. Client side: `host` is the dialed host or IP literal, the
  // name checked against the certificate (unless server_name is set) and sent as SNI (names only).
  std::unique_ptr<ByteFilter> newFilter(const std::string& host = {}) const;
  bool isServer() const { return server_; }

 private:
  TlsContext(SSL_CTX* ctx, bool server, const TlsSettings& settings);

  SSL_CTX* ctx_;
  bool server_;
  bool verify_name_;
  std::string server_name_;
};

using TlsContextPtr = std::shared_ptr<const TlsContext>;

// OpenSSL's reason for the oldest error in this thread's queue (the queue is then empty).
std::string takeOpensslError();

}  // namespace slotgate::common::tls
