// Start and stop order of the whole proxy: the workers' listeners bind first (so a taken port
// fails fast), then the control loop starts the topology tracker and the admin listener, the
// workers start, and a signal stops everything in reverse. SIGHUP reloads the configuration;
// SIGTERM/SIGINT drain (stop accepting, let commands in flight finish within
// timeouts.shutdown_ms, close clients) and exit 0; a second one exits at once.
#pragma once

#include "config/config.h"
#include "proxy/config_control.h"

namespace slotgate {

// Runs until SIGINT/SIGTERM; returns the process exit code.
// `tls`: the contexts built from `config` (buildTlsContexts); null when TLS is off.
int runServer(const config::Config& config, TlsContextsPtr tls = nullptr, ConfigSource source = {});

}  // namespace slotgate
