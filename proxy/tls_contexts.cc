#include "proxy/tls_contexts.h"

namespace slotgate {

TlsContextsPtr buildTlsContexts(const config::Config& config, std::vector<std::string>* problems) {
  auto out = std::make_shared<TlsContexts>();
  size_t before = problems->size();
  if (config.backend_tls.enabled) {
    const config::BackendTls& b = config.backend_tls;
    common::tls::TlsSettings s;
    s.ca_file = b.ca_file;
    s.ca_dir = b.ca_dir;
    s.cert_file = b.cert_file;
    s.key_file = b.key_file;
    s.min_version = b.min_version;
    s.ciphers = b.ciphers;
    s.ciphersuites = b.ciphersuites;
    s.verify_peer = b.verify != "none";
    s.verify_name = b.verify == "full";
    s.server_name = b.server_name;
    s.key_prefix = "backend.tls.";
    out->backend = common::tls::TlsContext::client(s, problems);
  }
  if (config.tls.enabled) {
    const config::ClientTls& t = config.tls;
    common::tls::TlsSettings s;
    s.ca_file = t.ca_file;
    s.ca_dir = t.ca_dir;
    s.cert_file = t.cert_file;
    s.key_file = t.key_file;
    s.min_version = t.min_version;
    s.ciphers = t.ciphers;
    s.ciphersuites = t.ciphersuites;
    s.verify_peer = t.verify_clients;
    s.key_prefix = "tls.";
    out->clients = common::tls::TlsContext::server(s, problems);
  }
  if (problems->size() != before) return nullptr;
  return out;
}

}  // namespace slotgate
