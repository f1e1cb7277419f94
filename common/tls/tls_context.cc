#include "common/tls/tls_context.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/tls/tls_session.h"

namespace slotgate::common::tls {
namespace {

bool isIpLiteral(const std::string& host) {
  unsigned char addr[16];
  return inet_pton(AF_INET, host.c_str(), addr) == 1 || inet_pton(AF_INET6, host.c_str(), addr) == 1;
}

// The settings both sides share: protocol floor, ciphers, own certificate and key, trusted CAs.
bool configure(SSL_CTX* ctx, const TlsSettings& s, bool server, std::vector<std::string>* problems) {
  size_t before = problems->size();
  auto problem = [&](const std::string& key, const std::string& what) {
    problems->push_back(s.key_prefix + key + ": " + what);
  };
  int floor = s.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
  SSL_CTX_set_min_proto_version(ctx, floor);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  // Idle connections give their record buffers back (many idle clients).
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  if (!s.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, s.ciphers.c_str()) != 1) {
    problem("ciphers", "no usable cipher in \"" + s.ciphers + "\": " + takeOpensslError());
  }
  if (!s.ciphersuites.empty() && SSL_CTX_set_ciphersuites(ctx, s.ciphersuites.c_str()) != 1) {
    problem("ciphersuites", "no usable suite in \"" + s.ciphersuites + "\": " + takeOpensslError());
  }
  if (!s.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, s.cert_file.c_str()) != 1) {
      problem("cert_file", "cannot load a certificate from " + s.cert_file + ": " + takeOpensslError());
    } else if (!s.key_file.empty()) {
      if (SSL_CTX_use_PrivateKey_file(ctx, s.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
        problem("key_file", "cannot load a private key from " + s.key_file + ": " + takeOpensslError());
      } else if (SSL_CTX_check_private_key(ctx) != 1) {
        problem("key_file", s.key_file + " is not the key of " + s.cert_file + ": " + takeOpensslError());
      }
    }
  }
  if (s.verify_peer) {
    if (s.ca_file.empty() && s.ca_dir.empty()) {
      if (!server) SSL_CTX_set_default_verify_paths(ctx);
    } else if (SSL_CTX_load_verify_locations(ctx, s.ca_file.empty() ? nullptr : s.ca_file.c_str(),
                                             s.ca_dir.empty() ? nullptr : s.ca_dir.c_str()) != 1) {
      problem(s.ca_file.empty() ? "ca_dir" : "ca_file", "cannot load CA certificates from " +
                                                            (s.ca_file.empty() ? s.ca_dir : s.ca_file) + ": " +
                                                            takeOpensslError());
    }
  }
  ERR_clear_error();
  return problems->size() == before;
}

}  // namespace

std::string takeOpensslError() {
  unsigned long first = ERR_get_error();
  ERR_clear_error();
  if (first == 0) return "unknown error";
  if (const char* reason = ERR_reason_error_string(first)) return reason;
  char text[256];
  ERR_error_string_n(first, text, sizeof text);
  return text;
}

TlsContext::TlsContext(SSL_CTX* ctx, bool server, const TlsSettings& settings)
    : ctx_(ctx), server_(server), verify_name_(settings.verify_peer && settings.verify_name),
      server_name_(settings.server_name) {}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

std::shared_ptr<const TlsContext> TlsContext::client(const TlsSettings& settings,
                                                     std::vector<std::string>* problems) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) {
    problems->push_back(settings.key_prefix + "enabled: cannot create a TLS context: " + takeOpensslError());
    return nullptr;
  }
  if (!configure(ctx, settings, false, problems)) {
    SSL_CTX_free(ctx);
    return nullptr;
  }
  SSL_CTX_set_verify(ctx, settings.verify_peer ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  return std::shared_ptr<const TlsContext>(new TlsContext(ctx, false, settings));
}

std::shared_ptr<const TlsContext> TlsContext::server(const TlsSettings& settings,
                                                     std::vector<std::string>* problems) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) {
    problems->push_back(settings.key_prefix + "listen: cannot create a TLS context: " + takeOpensslError());
    return nullptr;
  }
  if (settings.cert_file.empty() || settings.key_file.empty()) {
    problems->push_back(settings.key_prefix + (settings.cert_file.empty() ? "cert_file" : "key_file") +
                        ": required to serve TLS");
  }
  if (!configure(ctx, settings, true, problems) || settings.cert_file.empty() || settings.key_file.empty()) {
    SSL_CTX_free(ctx);
    return nullptr;
  }
  if (settings.verify_peer) {
    // Tell clients which CAs their certificate must come from, and refuse those without one.
    if (!settings.ca_file.empty()) {
      if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(settings.ca_file.c_str())) {
        SSL_CTX_set_client_CA_list(ctx, names);
      }
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  static const unsigned char kSessionContext[] = "slotgate";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
  ERR_clear_error();
  return std::shared_ptr<const TlsContext>(new TlsContext(ctx, true, settings));
}

std::unique_ptr<ByteFilter> TlsContext::newFilter(const std::string& host) const {
  SSL* ssl = SSL_new(ctx_);
  if (!ssl) return nullptr;
  if (server_) {
    SSL_set_accept_state(ssl);
    return std::make_unique<TlsSession>(ssl, std::string());
  }
  SSL_set_connect_state(ssl);
  const std::string& name = server_name_.empty() ? host : server_name_;
  if (!name.empty()) {
    bool ip = isIpLiteral(name);
    if (!ip) SSL_set_tlsext_host_name(ssl, name.c_str());
    if (verify_name_) {
      if (ip) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
      } else {
        SSL_set1_host(ssl, name.c_str());
      }
    }
  }
  return std::make_unique<TlsSession>(ssl, name);
}

}  // namespace slotgate::common::tls
