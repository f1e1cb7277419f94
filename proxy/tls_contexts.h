// The TLS contexts the settings ask for, built from their files at start and again on every reload
// (certificate rotation: new connections use the new files, open ones keep theirs).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/tls/tls_context.h"
#include "config/config.h"

namespace slotgate {

struct TlsContexts {
  common::tls::TlsContextPtr backend;  // backend.tls: to the nodes; null when off
  common::tls::TlsContextPtr clients;  // tls.listen: for clients; null when off
};

using TlsContextsPtr = std::shared_ptr<const TlsContexts>;

// Null with `problems` (each naming its setting) when a file or setting cannot be used.
TlsContextsPtr buildTlsContexts(const config::Config& config, std::vector<std::string>* problems);

}  // namespace slotgate
