// What every client of a worker shares, as the client state sees it (the worker fills it in as
// part of the session context).
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "proxy/request/dispatcher.h"
#include "proxy/request/executor.h"
#include "proxy/state/client_registry.h"

namespace slotgate::state {

struct ClientEnv {
  // By protocol: [0] RESP2, [1] RESP3 (node connections that speak the client's protocol).
  std::array<request::Executor*, 2> executors{};
  std::array<request::Dispatcher*, 2> dispatchers{};
  ClientRegistry* clients = nullptr;
  std::vector<std::shared_ptr<const config::User>> users;  // empty: no authentication
  std::string laddr;                                       // slotgate's address, for CLIENT LIST
  std::shared_ptr<const std::string> backend_version;      // the nodes' redis_version, once known
};

}  // namespace slotgate::state
