#include "proxy/state/client_state.h"

#include <algorithm>

#include "common/ascii.h"
#include "proxy/backend/callback_waiter.h"
#include "proxy/command/block_timeout.h"
#include "proxy/resp/errors.h"
#include "proxy/resp/writer.h"

namespace slotgate::state {
ClientState::ClientState(const ClientEnv& env, common::Clock& clock, ClientPort& port,
                         std::shared_ptr<request::ReplyLink> link, std::shared_ptr<ClientInfo> info)
    : env_(env), clock_(clock), port_(port), link_(link), info_(info), conn_(env, clock, port, link, info),
      exclusive_(clock, link), tx_(port, exclusive_, *info), wait_(clock, port, exclusive_, link) {
  info_->control = this;
}

ClientState::~ClientState() {
  if (info_->control == this) info_->control = nullptr;
  subs_.reset();
}

bool ClientState::parkable() const {
  return !exclusive_.busy() && !tx_.active() && !tx_.watching() && !subscribed() && !link_->script_lane;
}

void ClientState::park(ParkedState& out) {
  out.info = info_;
  exclusive_.park(out);
  conn_.park(out);
  wait_.park(out);
}

void ClientState::restore(ParkedState& in) {
  conn_.restore(in);
  wait_.restore(in);
  exclusive_.restore(in);
}

bool ClientState::wants(const command::CommandSpec& spec) const {
  return spec.policy == command::Policy::kStateful || tx_.active() || subscribed() ||
         (spec.flags & command::kFlagBlocking);
}

bool ClientState::checkAccess(const Call& call) {
  if (conn_.checkAccess(call)) return true;
  tx_.refuse();
  return false;
}

void ClientState::refuse(std::string_view error) {
  tx_.refuse();
  port_.reply(error);
}

namespace {

bool isPubSub(command::Handler handler) {
  using command::Handler;
  switch (handler) {
    case Handler::kSubscribe:
    case Handler::kPsubscribe:
    case Handler::kSsubscribe:
    case Handler::kUnsubscribe:
    case Handler::kPunsubscribe:
    case Handler::kSunsubscribe:
      return true;
    default:
      return false;
  }
}

bool isClientSubcommand(command::Handler handler) {
  return handler >= command::Handler::kClientSetname && handler <= command::Handler::kClientUnsupported;
}

}  // namespace

ClientState::Step ClientState::handle(const Call& call) {
  using command::Handler;
  const command::CommandSpec& spec = *call.spec;
  info_->last_command.store(spec.name, std::memory_order_relaxed);
  Handler op = spec.handler;
  bool subscribed_now = subscribed();
  bool pubsub = isPubSub(op);
  bool resp2 = conn_.proto() == 2;
  if (subscribed_now && resp2 && !pubsub && op != Handler::kPing && op != Handler::kQuit &&
      op != Handler::kReset) {
    port_.reply(resp::errorReply(fmt::runtime(resp::err::kSubscribedContext), std::string(spec.name)));
    return Step::kDone;
  }
  if (tx_.active() && op != Handler::kMulti && op != Handler::kExec && op != Handler::kDiscard &&
      op != Handler::kWatch && op != Handler::kQuit && op != Handler::kReset) {
    tx_.queue(call);
    return Step::kDone;
  }
  // What runs alone waits for the replies before it.
  bool subscribed_ping = op == Handler::kPing && subscribed_now && resp2;
  bool alone = op == Handler::kExec || op == Handler::kWatch || op == Handler::kWait || op == Handler::kReset ||
               pubsub || (op == Handler::kUnwatch && tx_.watching()) || subscribed_ping ||
               (spec.flags & command::kFlagBlocking);
  if ((alone && port_.pending() > 0) || scriptMustWait(spec)) return Step::kWaitForDrain;

  if (pubsub || subscribed_ping) {
    if (op == Handler::kSsubscribe || op == Handler::kSunsubscribe) {
      // As Redis Cluster: shard channels of one command share a slot (their order of
      // confirmation could not be a standalone server's otherwise).
      bool cross = false;
      call.keysSlot(&cross);
      if (cross) {
        port_.reply(resp::err::kCrossSlot);
        return Step::kDone;
      }
    }
    subscription(op, call);
    return Step::kDone;
  }
  if (isClientSubcommand(op)) {
    conn_.client(call);
    return Step::kDone;
  }
  switch (op) {
    case Handler::kMulti:
      tx_.multi();
      break;
    case Handler::kExec:
      tx_.exec(dispatcher(), call.spec, conn_.proto());
      break;
    case Handler::kDiscard:
      tx_.discard();
      break;
    case Handler::kUnwatch:
      tx_.unwatch();
      break;
    case Handler::kWatch:
      tx_.watch(call, dispatcher());
      break;
    case Handler::kAuth:
      conn_.auth(call);
      break;
    case Handler::kHello:
      hello(call);
      break;
    case Handler::kReset:
      reset();
      break;
    case Handler::kWait:
      wait_.wait(call, dispatcher(), executor());
      if (exclusive_.busy()) info_->blocked.store(true, std::memory_order_relaxed);
      break;
    default:
      if (spec.flags & command::kFlagBlocking) {
        bool cross = false;
        int slot = call.keysSlot(&cross);
        if (cross) {
          port_.reply(resp::err::kCrossSlot);
          break;
        }
        bool block_arg = std::any_of(call.argv.begin() + 1, call.argv.end(),
                                     [](std::string_view a) { return common::toLower(a) == "block"; });
        // XREAD without BLOCK never blocks: an ordinary request.
        if (op == Handler::kBlockingStreamRead && !block_arg) {
          route::Plan plan;
          plan.kind = slot < 0 ? route::Plan::Kind::kAnyPrimary : route::Plan::Kind::kSlot;
          plan.slot = static_cast<uint16_t>(std::max(slot, 0));
          plan.readonly = !(spec.flags & command::kFlagWrite);
          executor().execute(plan, spec, call.argv, call.raw, link_, port_.reserve());
        } else {
          blocking(call, slot);
        }
        break;
      }
      // QUIT, PING and the rest when subscribed (RESP3) or otherwise not the state's own.
      forward(call);
  }
  return Step::kDone;
}

void ClientState::forward(const Call& call) {
  route::Plan plan = route::plan(*call.spec, call.argv, call.key_positions);
  // Scripts may write (Redis does not flag them write): WAIT follows them onto the script lanes.
  bool script = (call.spec->proxy_flags & command::kProxySlow) != 0;
  if ((call.spec->flags & command::kFlagWrite) || script) wait_.noteWrite(plan, script || link_->script_lane);
  auto outcome = executor().execute(plan, *call.spec, call.argv, call.raw, link_, port_.reserve());
  if (outcome.close_after) port_.closeAfterReplies();
}

void ClientState::hello(const Call& call) {
  int before = conn_.proto();
  conn_.hello(call);
  // The lease's link speaks the old protocol (a WATCH in force keeps it).
  if (conn_.proto() != before && !tx_.watching()) exclusive_.releaseLease();
}

void ClientState::reset() {
  tx_.reset();
  exclusive_.releaseLease();
  subs_.reset();
  info_->subscriptions = 0;
  info_->patterns = 0;
  info_->shard_subscriptions = 0;
  conn_.reset();
  wait_.reset();
  port_.setReplyMode(ReplyMode::kOn);  // as Redis: RESET answers whatever CLIENT REPLY said
  port_.reply("+RESET\r\n");
}

// A blocking command runs alone, on the lease, with its own deadline: the node may take the
// command's timeout (or forever) beyond the backend timeout.
void ClientState::blocking(const Call& call, int slot) {
  uint64_t seq = port_.reserve();
  exclusive_.begin(ExclusiveCommands::Kind::kBlocking, seq);
  info_->blocked.store(true, std::memory_order_relaxed);
  auto request = exclusive_.leased(dispatcher(), call.spec, seq, call.encoded(), slot,
                                   !(call.spec->flags & command::kFlagWrite), false);
  exclusive_.lease()->learnNodeId();  // for CLIENT UNBLOCK
  uint64_t block_ms = command::blockTimeoutMs(call.argv);
  request->setExtraMs(block_ms == command::kBlocksForever ? backend::NodeLink::kNoDeadline : block_ms);
  dispatcher().dispatch(request);
}

// The blocking command waits on the lease's link: the node unblocks it there (its reply, nil or
// -UNBLOCKED, comes back on the lease as the command's own), answering 1. A 0 while the command is
// still ours means it has not reached the node (or its id is not known) yet: ask again shortly.
void ClientState::unblockTry(bool error, const std::function<void(bool)>& done, unsigned tries) {
  if (exclusive_.kind() != ExclusiveCommands::Kind::kBlocking) return done(false);
  uint64_t seq = exclusive_.seq();
  std::weak_ptr<request::ReplyLink> guard = link_;
  auto again = [this, guard, seq, error, done, tries] {
    if (tries == 0) return done(false);
    clock_.after(common::RetryPolicy::kSettlePollMs, [this, guard, seq, error, done, tries] {
      auto alive = guard.lock();
      if (!alive || !alive->target || !exclusive_.owns(seq)) return done(false);
      unblockTry(error, done, tries - 1);
    });
  };
  request::ExclusiveLease* lease = exclusive_.lease();
  backend::NodeLink* link = lease ? lease->intactLink() : nullptr;
  int64_t node_id = lease ? lease->nodeClientId() : 0;
  if (!link || node_id <= 0) return again();
  std::string id = std::to_string(node_id);
  std::string bytes;
  resp::appendCommand(bytes, std::vector<std::string_view>{"CLIENT", "UNBLOCK", id, error ? "ERROR" : "TIMEOUT"});
  auto on_reply = [this, guard, seq, done, again](std::string_view reply) {
    if (reply == ":1\r\n") return done(true);
    auto alive = guard.lock();
    if (alive && alive->target && exclusive_.owns(seq)) return again();
    done(false);
  };
  dispatcher()
      .links()
      .shared(link->host(), link->port())
      .send(backend::CallbackWaiter::make(
                on_reply, [done](backend::Failure, const std::string&, const std::string&) { done(false); }),
            bytes);
}

void ClientState::finishAlone(std::string_view reply) {
  if (exclusive_.kind() == ExclusiveCommands::Kind::kWatch) tx_.watchAnswered(reply);
  exclusive_.end();
  info_->blocked.store(false, std::memory_order_relaxed);
}

void ClientState::subscription(command::Handler op, const Call& call) {
  if (!subs_) {
    subs_ = std::make_unique<Subscriptions>(clock_, dispatcher(), conn_.proto(), *info_, link_,
                                            [this](std::string_view bytes) { port_.push(bytes); });
    subs_->setAnswer([this](std::string_view bytes) { port_.reply(bytes); });
    subs_->setOnSettled([this] {
      exclusive_.end();
      port_.resume();
    });
  }
  subs_->command(op, call.argv);
  if (subs_->expecting() > 0) exclusive_.begin(ExclusiveCommands::Kind::kPubSub, 0);
}

}  // namespace slotgate::state
