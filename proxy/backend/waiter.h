// What a backend connection reports to whoever sent a command on it: exactly one call per
// command, either its reply or why none will come.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/chunk.h"

namespace slotgate::backend {

enum class Failure : uint8_t {
  kUnreachable,  // the command never left the proxy: the node could not be reached
  kLost,         // the connection broke after the command was written
  kTimeout,      // the node did not answer within the backend timeout
};

class Waiter {
 public:
  virtual ~Waiter() = default;
  // One complete RESP reply; the bytes are valid only during the call.
  virtual void onReply(std::string_view reply) = 0;
  // `node` is "host:port"; `detail` says what happened (for the log and the error reply).
  virtual void onFailure(Failure failure, const std::string& node, const std::string& detail) = 0;
  // The command bytes it sent, if it holds them as a Slice (a large value): written without a copy.
  virtual common::Slice sentBytes(std::string_view bytes) const {
    (void)bytes;
    return {};
  }
};

using WaiterPtr = std::shared_ptr<Waiter>;

}  // namespace slotgate::backend
