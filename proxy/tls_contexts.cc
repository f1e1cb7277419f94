#include "proxy/tls_contexts.h"

namespace slotgate {

namespace {

// The settings both sides name alike (config::BackendTls and config::ClientTls).
template <typename Side>
common::tls::TlsSettings fileSettings(const Side& side, const char* key_prefix) {
  common::tls::TlsSettings s;
  s.ca_file = side.ca_file;
  s.ca_dir = side.ca_dir;
  s.cert_file = side.cert_file;
  s.key_file = side.key_file;
  s.min_version = side.min_version;
  s.ciphers = side.ciphers;
  s.ciphersuites = side.ciphersuites;
  s.key_prefix = key_prefix;
  return s;
}

}  // namespace

TlsContextsPtr buildTlsContexts(const config::Config& config, std::vector<std::string>* problems) {
  auto out = std::make_shared<TlsContexts>();
  size_t before = problems->size();
  if (config.backend_tls.enabled) {
    const config::BackendTls& b = config.backend_tls;
    common::tls::TlsSettings s = fileSettings(b, "backend.tls.");
    s.verify_peer = b.verify != "none";
    s.verify_name = b.verify == "full";
    s.server_name = b.server_name;
    out->backend = common::tls::TlsContext::client(s, problems);
  }
  if (config.tls.enabled) {
    common::tls::TlsSettings s = fileSettings(config.tls, "tls.");
    s.verify_peer = config.tls.verify_clients;
    out->clients = common::tls::TlsContext::server(s, problems);
  }
  if (problems->size() != before) return nullptr;
  return out;
}

}  // namespace slotgate
