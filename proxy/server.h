// Start and stop order of the whole proxy: the workers' listeners bind first (so a taken port
// fails fast), then the control loop starts the topology tracker, the workers start, and a signal
// stops everything in reverse.
#pragma once

#include <memory>
#include <vector>

#include "config/config.h"

namespace slotgate {

// Runs until SIGINT/SIGTERM; returns the process exit code.
int runServer(const config::Config& config);

}  // namespace slotgate
