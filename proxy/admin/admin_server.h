// The admin HTTP listener, on the control loop: GET (or HEAD) /metrics, /healthz, /readyz and
// /topology. One request per connection (answered with Connection: close), bounded in size and
// time, so a stuck or hostile client costs one socket for a few seconds at most.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/uv/event_loop.h"
#include "common/uv/tcp_listener.h"

namespace slotgate::admin {

struct AdminHandlers {
  // Calls `respond` with the Prometheus text, possibly later (workers are asked on their threads).
  std::function<void(std::function<void(std::string)> respond)> metrics;
  // Calls `respond(ready, why)`, possibly later; `why` says what is missing when not ready.
  std::function<void(std::function<void(bool ready, std::string why)> respond)> ready;
  std::function<std::string()> topology;  // JSON
};

class AdminServer {
 public:
  AdminServer(common::uv::EventLoop& loop, AdminHandlers handlers);
  ~AdminServer();

  // 0 or a libuv error code (`error` says what failed). The port is not shared (no SO_REUSEPORT):
  // a second process on the same port fails here instead of splitting the scrapes.
  int listen(const std::string& host, uint16_t port, std::string* error);
  void close();

 private:
  class Connection;
  void onAccept(common::uv::TcpConnection* conn);
  void forget(uint64_t id);

  common::uv::EventLoop& loop_;
  AdminHandlers handlers_;
  std::unique_ptr<common::uv::TcpListener> listener_;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
  uint64_t next_id_ = 1;
};

// The full HTTP/1.1 response for `status` with `body` (Connection: close); `head_only` for HEAD.
std::string httpResponse(int status, std::string_view content_type, std::string_view body, bool head_only = false);

}  // namespace slotgate::admin
