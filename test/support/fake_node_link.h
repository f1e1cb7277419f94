// Node links for unit tests: a FakeNodeLink records every send and lets the test answer the
// oldest one, fail it, or make the node die or refuse; FakeLinkSource hands them out (shared ones
// per address, exclusive ones made fresh) and remembers each.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/backend/link_source.h"
#include "proxy/backend/node_link.h"

namespace slotgate::test {

class FakeNodeLink : public backend::NodeLink {
 public:
  struct Sent {
    std::string bytes;
    bool asking = false;
    uint64_t extra_ms = 0;
    unsigned replies = 1;
  };

  FakeNodeLink(std::string host, uint16_t port, bool exclusive)
      : host_(std::move(host)), port_(port), address_(host_ + ":" + std::to_string(port)), exclusive_(exclusive) {}

  void send(backend::WaiterPtr waiter, std::string_view command, bool asking, uint64_t extra_ms,
            unsigned replies) override {
    if (refusing_) {
      if (waiter) waiter->onFailure(backend::Failure::kUnreachable, address_, "connection refused");
      return;
    }
    if (!open_) {
      open_ = true;
      ++generation_;
    }
    // ASKING's own +OK is the link's business: tests answer only the command.
    sent_.push_back({std::string(command), asking, extra_ms, replies});
    waiting_.push_back({std::move(waiter), replies});
  }
  void sendRaw(std::string_view command) override {
    if (refusing_) return;
    if (!open_) {
      open_ = true;
      ++generation_;
    }
    raw_.emplace_back(command);
  }
  void setPushHandler(std::function<void(std::string_view)> handler) override { push_ = std::move(handler); }
  void setCloseHandler(std::function<void(const std::string&)> handler) override { close_ = std::move(handler); }
  const std::string& host() const override { return host_; }
  uint16_t port() const override { return port_; }
  const std::string& address() const override { return address_; }
  uint64_t generation() const override { return generation_; }
  size_t inFlight() const override { return waiting_.size(); }
  bool connected() const override { return open_; }
  bool failing() const override { return refusing_; }
  bool backingOff() const override { return refusing_; }
  void probe() override {}
  void setReadonly(bool) override {}
  void checkTimeout(uint64_t) override {}
  void closeWhenIdle() override {}

  // ---- the test's side ----
  // Answers the oldest send still waiting (one of its replies).
  void reply(std::string_view reply) {
    Waiting& head = waiting_.front();
    backend::WaiterPtr waiter = head.waiter;
    if (--head.replies == 0) waiting_.pop_front();
    if (waiter) waiter->onReply(reply);
  }
  // Messages and confirmations on a pub/sub link.
  void push(std::string_view reply) { push_(reply); }
  // The connection breaks: what was sent gets kLost; it reconnects on the next send.
  void drop(const std::string& why = "connection reset") {
    open_ = false;
    std::deque<Waiting> failed;
    failed.swap(waiting_);
    for (Waiting& w : failed) {
      if (w.waiter) w.waiter->onFailure(backend::Failure::kLost, address_, why);
    }
    if (close_) close_(why);
  }
  // The node is gone: the connection breaks and new sends fail at once (kUnreachable).
  void die() {
    refusing_ = true;
    drop("connection refused");
  }
  void revive() { refusing_ = false; }
  void timeOutHead() {
    Waiting head = std::move(waiting_.front());
    waiting_.pop_front();
    if (head.waiter) head.waiter->onFailure(backend::Failure::kTimeout, address_, "no reply in time");
    drop("no reply in time");
  }
  const std::vector<Sent>& sent() const { return sent_; }
  const std::vector<std::string>& raw() const { return raw_; }
  bool exclusive() const { return exclusive_; }

 private:
  struct Waiting {
    backend::WaiterPtr waiter;
    unsigned replies;
  };
  std::string host_;
  uint16_t port_;
  std::string address_;
  bool exclusive_;
  bool open_ = false;
  bool refusing_ = false;
  uint64_t generation_ = 0;
  std::deque<Waiting> waiting_;
  std::vector<Sent> sent_;
  std::vector<std::string> raw_;
  std::function<void(std::string_view)> push_;
  std::function<void(const std::string&)> close_;
};

class FakeLinkSource : public backend::LinkSource {
 public:
  backend::NodeLink& shared(const std::string& host, uint16_t port) override { return node(host, port); }
  std::unique_ptr<backend::NodeLink> openExclusive(const std::string& host, uint16_t port) override {
    auto link = std::make_unique<Owned>(host, port, this);
    if (dead_.count(link->address())) link->die();
    exclusive_.push_back(link.get());
    return link;
  }
  void closeIdleUnless(const std::function<bool(const backend::NodeLink&)>&) override {}
  backend::NodeLink& scriptLane(const std::string& host, uint16_t port) override { return lane(host, port); }

  // The script lane to host:port (scripts, and their clients' commands while they run).
  FakeNodeLink& lane(const std::string& host, uint16_t port) {
    auto& link = lanes_[host + ":" + std::to_string(port)];
    if (!link) {
      link = std::make_unique<FakeNodeLink>(host, port, false);
      if (dead_.count(link->address())) link->die();
    }
    return *link;
  }

  // The shared link to host:port.
  FakeNodeLink& node(const std::string& host, uint16_t port) {
    auto& link = shared_[host + ":" + std::to_string(port)];
    if (!link) link = std::make_unique<FakeNodeLink>(host, port, false);
    return *link;
  }
  // The node at host:port is gone: its shared link and every exclusive one opened from now on
  // refuse sends.
  void kill(const std::string& host, uint16_t port) {
    node(host, port).die();
    dead_.insert(host + ":" + std::to_string(port));
    if (auto it = lanes_.find(host + ":" + std::to_string(port)); it != lanes_.end()) it->second->die();
  }
  // Exclusive links opened so far and not yet destroyed, oldest first.
  const std::vector<FakeNodeLink*>& exclusive() const { return exclusive_; }
  FakeNodeLink* lastExclusive() const { return exclusive_.empty() ? nullptr : exclusive_.back(); }
  size_t exclusiveOpened() const { return opened_; }

 private:
  // An exclusive link that leaves the list when its owner frees it.
  class Owned : public FakeNodeLink {
   public:
    Owned(const std::string& host, uint16_t port, FakeLinkSource* source)
        : FakeNodeLink(host, port, true), source_(source) {
      ++source_->opened_;
    }
    ~Owned() override { std::erase(source_->exclusive_, this); }

   private:
    FakeLinkSource* source_;
  };

  std::map<std::string, std::unique_ptr<FakeNodeLink>> shared_;
  std::map<std::string, std::unique_ptr<FakeNodeLink>> lanes_;
  std::vector<FakeNodeLink*> exclusive_;
  std::set<std::string> dead_;
  size_t opened_ = 0;
};

}  // namespace slotgate::test
