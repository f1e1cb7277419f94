// A lease's link as requests see it: it forwards everything to the real link, and while the
// lease wants to learn the node's client id of that link (for CLIENT UNBLOCK), it puts CLIENT ID
// in front of the next command, in the same send. One send keeps one deadline and one failure:
// a node that hangs fails the command itself at its own deadline, not a separate CLIENT ID ahead
// of it.
#pragma once

#include <cstdint>
#include <memory>

#include "proxy/backend/node_link.h"

namespace slotgate::request {

class IdLearningLink final : public backend::NodeLink {
 public:
  // `id`: 0 unknown (ask with the next send), -1 asked, > 0 the node's id; `wanted` says whether
  // to ask at all. Both belong to the lease.
  IdLearningLink(backend::NodeLink& link, std::shared_ptr<int64_t> id, const bool& wanted)
      : link_(link), id_(std::move(id)), wanted_(wanted) {}

  void send(backend::WaiterPtr waiter, std::string_view command, bool asking = false, uint64_t extra_ms = 0,
            unsigned replies = 1) override;
  void sendRaw(std::string_view command) override { link_.sendRaw(command); }
  void setPushHandler(std::function<void(std::string_view)> handler) override {
    link_.setPushHandler(std::move(handler));
  }
  void setCloseHandler(std::function<void(const std::string&)> handler) override {
    link_.setCloseHandler(std::move(handler));
  }
  const std::string& host() const override { return link_.host(); }
  uint16_t port() const override { return link_.port(); }
  const std::string& address() const override { return link_.address(); }
  uint64_t generation() const override { return link_.generation(); }
  size_t inFlight() const override { return link_.inFlight(); }
  bool connected() const override { return link_.connected(); }
  bool failing() const override { return link_.failing(); }
  bool backingOff() const override { return link_.backingOff(); }
  void probe() override { link_.probe(); }
  void setReadonly(bool readonly) override { link_.setReadonly(readonly); }
  void checkTimeout(uint64_t now_ms) override { link_.checkTimeout(now_ms); }
  void closeWhenIdle() override { link_.closeWhenIdle(); }

 private:
  backend::NodeLink& link_;
  std::shared_ptr<int64_t> id_;
  const bool& wanted_;
};

}  // namespace slotgate::request
