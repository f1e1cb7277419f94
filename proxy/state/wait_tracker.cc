#include "proxy/state/wait_tracker.h"

#include <algorithm>
#include <functional>
#include <optional>

#include "proxy/backend/callback_waiter.h"
#include "proxy/resp/errors.h"
#include "proxy/resp/number.h"
#include "proxy/resp/writer.h"

namespace slotgate::state {
namespace {

constexpr size_t kMaxWrittenSlots = 64;  // past this, WAIT asks every primary
constexpr uint64_t kWaitChunkMs = 100;   // WAIT holds a shared node connection at most this long

}  // namespace

void WaitTracker::noteWrite(const route::Plan& plan, bool on_lanes) {
  wrote_on_lanes_ = wrote_on_lanes_ || on_lanes;
  if (wrote_everywhere_) return;
  auto note = [this](uint16_t slot) {
    if (std::find(written_slots_.begin(), written_slots_.end(), slot) != written_slots_.end()) return;
    if (written_slots_.size() >= kMaxWrittenSlots) wrote_everywhere_ = true;
    else written_slots_.push_back(slot);
  };
  switch (plan.kind) {
    case route::Plan::Kind::kSlot:
      note(plan.slot);
      break;
    case route::Plan::Kind::kSplit:
      for (const route::SlotGroup& group : plan.groups) note(group.slot);
      break;
    case route::Plan::Kind::kAnyPrimary:
    case route::Plan::Kind::kAllPrimaries:
    case route::Plan::Kind::kAllNodes:
      wrote_everywhere_ = true;
      break;
    default:
      break;
  }
}

// WAIT goes behind this client's writes on every connection that carried them (shared node
// connections by slot owner, and the dedicated one), in slices of at most kWaitChunkMs so a
// shared connection is never held long; the answer is the smallest count.
void WaitTracker::wait(const Call& call, request::Dispatcher& dispatcher, request::Executor& executor) {
  std::span<const std::string_view> argv_ = call.argv;
  int64_t numreplicas = 0, timeout = 0;
  if (argv_.size() != 3 || !resp::parseInt(argv_[1], &numreplicas) || !resp::parseInt(argv_[2], &timeout) ||
      timeout < 0) {
    // Redis's own error texts: let a node say it.
    route::Plan plan;
    plan.kind = route::Plan::Kind::kAnyPrimary;
    executor.execute(plan, *call.spec, argv_, {}, link_, port_.reserve());
    return;
  }
  std::vector<backend::NodeLink*> nodes;
  auto add = [&nodes](backend::NodeLink* node) {
    if (node && std::find(nodes.begin(), nodes.end(), node) == nodes.end()) nodes.push_back(node);
  };
  if (wrote_everywhere_) {
    for (auto* node : dispatcher.primaries()) add(node);
  } else {
    for (uint16_t slot : written_slots_) add(dispatcher.ownerOf(slot));
  }
  if (wrote_on_lanes_) {
    size_t shared = nodes.size();
    for (size_t i = 0; i < shared; ++i) add(&dispatcher.links().scriptLane(nodes[i]->host(), nodes[i]->port()));
  }
  if (exclusive_.takeWrote() && exclusive_.lease()) add(exclusive_.lease()->intactLink());
  if (nodes.empty()) add(dispatcher.anyPrimary());
  written_slots_.clear();
  wrote_everywhere_ = false;
  wrote_on_lanes_ = false;
  uint64_t seq = port_.reserve();
  exclusive_.begin(ExclusiveCommands::Kind::kWait, seq);
  if (nodes.empty()) return port_.complete(seq, resp::err::kNoTopology);
  struct WaitState {
    std::vector<backend::NodeLink*> nodes;
    std::vector<int64_t> counts;
    std::vector<bool> done;
    int64_t numreplicas;
    uint64_t deadline;  // 0: none
    size_t outstanding = 0;
  };
  auto state = std::make_shared<WaitState>();
  state->nodes = nodes;
  state->counts.assign(nodes.size(), 0);
  state->done.assign(nodes.size(), false);
  state->numreplicas = numreplicas;
  state->deadline = timeout > 0 ? clock_.nowMs() + static_cast<uint64_t>(timeout) : 0;
  std::shared_ptr<request::ReplyLink> guard = link_;
  common::Clock* clock = &clock_;
  auto round = std::make_shared<std::function<void()>>();
  // The waiters in flight keep the round alive; it holds itself only weakly (no cycle).
  std::weak_ptr<std::function<void()>> weak_round = round;
  *round = [guard, clock, seq, state, weak_round] {
    auto round = weak_round.lock();
    if (!guard->target || !round) return;
    uint64_t now = clock->nowMs();
    bool expired = state->deadline != 0 && now >= state->deadline;
    bool all = true;
    for (size_t i = 0; i < state->nodes.size(); ++i)
      all = all && (state->done[i] || state->counts[i] >= state->numreplicas);
    if (all || expired) {
      int64_t least = *std::min_element(state->counts.begin(), state->counts.end());
      std::string reply;
      resp::appendInteger(reply, least);
      return guard->target->deliver(seq, reply);
    }
    uint64_t slice = kWaitChunkMs;
    if (state->deadline != 0) slice = std::min(slice, state->deadline - now);
    slice = std::max<uint64_t>(slice, 1);
    std::string command;
    resp::appendCommand(command, {"WAIT", std::to_string(state->numreplicas), std::to_string(slice)});
    for (size_t i = 0; i < state->nodes.size(); ++i) {
      if (state->done[i] || state->counts[i] >= state->numreplicas) continue;
      ++state->outstanding;
      auto finish_one = [state, round, i](std::optional<int64_t> count) {
        if (count) state->counts[i] = *count;
        else state->done[i] = true;  // a node that fails counts what it last said
        if (--state->outstanding == 0 && *round) (*round)();
      };
      state->nodes[i]->send(backend::CallbackWaiter::make(
                                [finish_one](std::string_view reply) {
                                  int64_t count = 0;
                                  if (reply.size() > 3 && reply[0] == ':' &&
                                      resp::parseInt(reply.substr(1, reply.size() - 3), &count)) {
                                    finish_one(count);
                                  } else {
                                    finish_one(std::nullopt);
                                  }
                                },
                                [finish_one](backend::Failure, const std::string&, const std::string&) {
                                  finish_one(std::nullopt);
                                }),
                            command);
    }
  };
  (*round)();
}

}  // namespace slotgate::state
