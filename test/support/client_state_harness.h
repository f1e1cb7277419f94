// A ClientState over the request harness's fake links, with the session's side reduced to
// numbered reply places, for unit tests of what a client's connection remembers.
#pragma once

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "proxy/command/classifier.h"
#include "proxy/request/executor.h"
#include "proxy/route/plan.h"
#include "proxy/state/client_state.h"
#include "test/support/request_harness.h"

namespace slotgate::test {

// The session's side: numbered reply places; like the session, it clears the client's
// script-lane mark once no reply is outstanding.
class ClientPortStub : public state::ClientPort, public request::ReplyTarget {
 public:
  uint64_t reserve() override { return next_++; }
  uint64_t reservePush() override { return next_++; }
  void setReplyMode(state::ReplyMode m) override { mode = m; }
  uint64_t nextSeq() const { return next_; }
  void complete(uint64_t seq, std::string_view reply) override {
    if (state->ownsReply(seq)) state->finishAlone(reply);
    replies[seq] = std::string(reply);
    if (pending() == 0) link->script_lane = false;
  }
  void deliver(uint64_t seq, std::string_view reply) override { complete(seq, reply); }
  size_t pending() const override { return next_ - replies.size(); }
  void resume() override {}
  void closeAfterReplies() override {}
  void kill() override { killed = true; }

  state::ClientState* state = nullptr;
  request::ReplyLink* link = nullptr;
  std::map<uint64_t, std::string> replies;
  state::ReplyMode mode = state::ReplyMode::kOn;
  bool killed = false;

 private:
  uint64_t next_ = 0;
};

struct ClientStateHarness : RequestHarness {
  ClientStateHarness() {
    env.executors = {&executor, &executor};
    env.dispatchers = {dispatcher.get(), dispatcher.get()};
    env.clients = &registry;
    link->target = &port;
    port.link = link.get();
    client = std::make_unique<state::ClientState>(env, clock, port, link, info);
    port.state = client.get();
  }

  // Hands one command to the client state as the session would (or, not the state's, forwards it).
  state::ClientState::Step handle(std::vector<std::string_view> argv) {
    command::classify(argv, &classification);
    REQUIRE(classification.error.empty());
    state::Call call{classification.spec, argv, {}, classification.key_positions};
    if (!client->wants(*classification.spec)) {
      if (client->scriptMustWait(*classification.spec)) return state::ClientState::Step::kWaitForDrain;
      route::Plan plan = route::plan(*classification.spec, argv, classification.key_positions);
      executor.execute(plan, *classification.spec, argv, {}, link, port.reserve());
      return state::ClientState::Step::kDone;
    }
    return client->handle(call);
  }

  // Runs one command the client state takes and finishes at once; returns its reply place.
  uint64_t run(std::vector<std::string_view> argv) {
    uint64_t seq = port.nextSeq();
    REQUIRE(handle(std::move(argv)) == state::ClientState::Step::kDone);
    return seq;
  }

  FakeNodeLink& laneA() { return links.lane(kHost, kPortA); }
  FakeNodeLink& laneB() { return links.lane(kHost, kPortB); }

  request::Executor executor{*dispatcher, request::LocalContext{}, nullptr};
  state::ClientRegistry registry;
  state::ClientEnv env;
  ClientPortStub port;
  std::shared_ptr<state::ClientInfo> info = std::make_shared<state::ClientInfo>();
  std::unique_ptr<state::ClientState> client;
  command::Classification classification;
};

}  // namespace slotgate::test
