// What a plain Redis connection remembers about its client, kept for one client of slotgate:
// who it is and how it speaks (ConnectionState), its transaction and WATCH (Transaction), its
// subscriptions (Subscriptions), the writes a WAIT must wait for (WaitTracker), and the commands
// that run alone on its exclusive lease (ExclusiveCommands). The session hands it every command
// that touches that state; it answers them through the session's ordered reply queue.
#pragma once

#include <memory>
#include <string_view>

#include "common/clock.h"
#include "common/retry_policy.h"
#include "proxy/route/plan.h"
#include "proxy/state/call.h"
#include "proxy/state/client_env.h"
#include "proxy/state/client_port.h"
#include "proxy/state/connection_state.h"
#include "proxy/state/exclusive_commands.h"
#include "proxy/state/subscriptions.h"
#include "proxy/state/transaction.h"
#include "proxy/state/wait_tracker.h"

namespace slotgate::state {

class ClientState : public ClientControl {
 public:
  ClientState(const ClientEnv& env, common::Clock& clock, ClientPort& port,
              std::shared_ptr<request::ReplyLink> link, std::shared_ptr<ClientInfo> info);
  ~ClientState() override;
  ClientState(const ClientState&) = delete;
  ClientState& operator=(const ClientState&) = delete;

  enum class Step : uint8_t {
    kDone,
    kWaitForDrain,  // runs alone: hand the same command again once every earlier reply is out
  };

  // Whether `spec` must come here rather than take the forwarding path.
  bool wants(const command::CommandSpec& spec) const;
  // False (and the client answered) if the client may not run `call` now.
  bool checkAccess(const Call& call);
  Step handle(const Call& call);
  // A command refused before it ran (unknown, wrong arity): `error` is the reply.
  void refuse(std::string_view error);
  // A script leaves on its node's script lane: the client's earlier commands, on the shared links,
  // are answered first, unless its commands already take the lanes (then it goes at once).
  bool scriptMustWait(const command::CommandSpec& spec) const {
    return (spec.proxy_flags & command::kProxySlow) && !link_->script_lane && port_.pending() > 0;
  }
  // A write is sent where `plan` says (for WAIT).
  void noteWrite(const route::Plan& plan) { wait_.noteWrite(plan, link_->script_lane); }

  // A command that runs alone is in flight: the session takes no other meanwhile.
  bool runningAlone() const { return exclusive_.busy(); }
  // `seq` is the reply of the command running alone: it ends now.
  bool ownsReply(uint64_t seq) const { return exclusive_.owns(seq); }
  void finishAlone(std::string_view reply);
  bool waitsOnNode() const { return exclusive_.waitsOnNode(); }
  void checkDeadline(uint64_t now_ms) { exclusive_.checkDeadline(now_ms); }
  bool subscribed() const { return subs_ && subs_->active(); }

  // Nothing but what ParkedState keeps differs from a new connection's state: the client may be
  // parked (the session checks that nothing is in flight).
  bool parkable() const;
  // Moves what the client remembers out (the state is then a new connection's), or back in.
  void park(ParkedState& out);
  void restore(ParkedState& in);

  // ClientControl (CLIENT KILL and CLIENT UNBLOCK aimed at this client).
  void kill() override { port_.kill(); }
  void unblock(bool error, std::function<void(bool)> done) override { unblockTry(error, done); }

  ConnectionState& connection() { return conn_; }
  int proto() const { return conn_.proto(); }
  request::Executor& executor() { return *env_.executors[conn_.proto() == 3 ? 1 : 0]; }
  request::Dispatcher& dispatcher() { return *env_.dispatchers[conn_.proto() == 3 ? 1 : 0]; }

 private:
  void hello(const Call& call);
  void reset();
  void blocking(const Call& call, int slot);
  void subscription(command::Handler op, const Call& call);
  void forward(const Call& call);
  // CLIENT UNBLOCK aimed at this client (on its worker); `tries` left while the node has not
  // seen the command block yet.
  void unblockTry(bool error, const std::function<void(bool)>& done,
                  unsigned tries = common::RetryPolicy::kSettlePolls);

  const ClientEnv& env_;
  common::Clock& clock_;
  ClientPort& port_;
  std::shared_ptr<request::ReplyLink> link_;
  std::shared_ptr<ClientInfo> info_;
  ConnectionState conn_;
  ExclusiveCommands exclusive_;
  Transaction tx_;
  WaitTracker wait_;
  std::unique_ptr<Subscriptions> subs_;
};

}  // namespace slotgate::state
