// A Waiter made of two functions, for the control plane's own queries (CLUSTER SHARDS, ...).
#pragma once

#include <functional>
#include <memory>

#include "proxy/backend/waiter.h"

namespace slotgate::backend {

class CallbackWaiter : public Waiter {
 public:
  using ReplyFn = std::function<void(std::string_view)>;
  using FailureFn = std::function<void(Failure, const std::string&, const std::string&)>;

  static WaiterPtr make(ReplyFn on_reply, FailureFn on_failure) {
    return std::make_shared<CallbackWaiter>(std::move(on_reply), std::move(on_failure));
  }
  CallbackWaiter(ReplyFn on_reply, FailureFn on_failure)
      : on_reply_(std::move(on_reply)), on_failure_(std::move(on_failure)) {}

  void onReply(std::string_view reply) override { on_reply_(reply); }
  void onFailure(Failure failure, const std::string& node, const std::string& detail) override {
    on_failure_(failure, node, detail);
  }

 private:
  ReplyFn on_reply_;
  FailureFn on_failure_;
};

}  // namespace slotgate::backend
