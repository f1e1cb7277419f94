#include "proxy/state/subscriptions.h"

#include <algorithm>

#include "common/log.h"
#include "common/retry_policy.h"
#include "proxy/resp/writer.h"
#include "proxy/state/pubsub_reply.h"

namespace slotgate::state {
Subscriptions::Subscriptions(common::Clock& clock, request::Dispatcher& dispatcher, int proto, ClientInfo& info,
                             std::shared_ptr<request::ReplyLink> guard, Emit emit)
    : clock_(clock), dispatcher_(dispatcher), proto_(proto), info_(info), guard_(std::move(guard)),
      emit_(std::move(emit)) {}

Subscriptions::~Subscriptions() {
  *alive_ = false;
  retire(std::move(global_));
  for (auto& [address, link] : shard_links_) retire(std::move(link.conn));
  for (auto& [address, conn] : keyspace_links_) retire(std::move(conn));
}

// A connection may be in the middle of calling us: free it on a later loop turn.
void Subscriptions::retire(std::unique_ptr<backend::NodeLink> conn) {
  if (!conn) return;
  std::shared_ptr<backend::NodeLink> doomed(std::move(conn));
  clock_.post([doomed] {});
}

// A reply the client is owed for its last command.
void Subscriptions::emitOwed(std::string_view reply, bool push) {
  if (push) emit_(reply);
  else answer(reply);
  if (expecting_ > 0 && --expecting_ == 0) settle();
}

void Subscriptions::settle() {
  expecting_ = 0;
  if (on_settled_) on_settled_();
}

namespace {

// The command's name as the node and the client's confirmations spell it.
std::string_view wireName(command::Handler op) {
  using command::Handler;
  switch (op) {
    case Handler::kSubscribe:
      return "subscribe";
    case Handler::kPsubscribe:
      return "psubscribe";
    case Handler::kUnsubscribe:
      return "unsubscribe";
    case Handler::kPunsubscribe:
      return "punsubscribe";
    case Handler::kSsubscribe:
      return "ssubscribe";
    case Handler::kSunsubscribe:
      return "sunsubscribe";
    default:
      return "ping";
  }
}

}  // namespace

void Subscriptions::command(command::Handler op, std::span<const std::string_view> argv) {
  using command::Handler;
  std::vector<std::string> args(argv.begin() + 1, argv.end());
  std::string_view name = wireName(op);
  if (op == Handler::kSubscribe || op == Handler::kPsubscribe) {
    auto& wanted = op == Handler::kSubscribe ? channels_ : patterns_;
    for (const std::string& a : args) wanted.insert(a);
    expecting_ = args.size();
    sendGlobal(name, args, false);
    sendKeyspace(name, args, op == Handler::kPsubscribe);
    syncKeyspace();
  } else if (op == Handler::kUnsubscribe || op == Handler::kPunsubscribe) {
    bool patterns = op == Handler::kPunsubscribe;
    auto& wanted = patterns ? patterns_ : channels_;
    if (!global_) {
      // Nothing is subscribed on a node: answer as Redis would.
      if (args.empty()) emitConfirmation(name, "", true, confirmed_channels_.size() + confirmed_patterns_.size());
      for (const std::string& a : args) {
        wanted.erase(a);
        emitConfirmation(name, a, false, confirmed_channels_.size() + confirmed_patterns_.size());
      }
    } else {
      auto& confirmed = patterns ? confirmed_patterns_ : confirmed_channels_;
      expecting_ = args.empty() ? std::max<size_t>(1, confirmed.size()) : args.size();
      if (args.empty()) wanted.clear();
      for (const std::string& a : args) wanted.erase(a);
      sendGlobal(name, args, false);
    }
    sendKeyspace(name, args, patterns);
    syncKeyspace();
  } else if (op == Handler::kSsubscribe) {
    for (const std::string& a : args) shard_.insert(a);
    expecting_ = args.size();
    subscribeShard(args, false);
  } else if (op == Handler::kSunsubscribe) {
    std::vector<std::string> targets = args;
    if (targets.empty()) targets.assign(shard_.begin(), shard_.end());
    if (targets.empty()) emitConfirmation(name, "", true, confirmed_shard_.size());
    std::map<std::string, std::vector<std::string>> by_node;
    for (const std::string& channel : targets) {
      shard_.erase(channel);
      auto where = shard_where_.find(channel);
      if (where == shard_where_.end() || !shard_links_.count(where->second)) {
        confirmed_shard_.erase(channel);
        emitConfirmation(name, channel, false, confirmed_shard_.size());
        continue;
      }
      client_sunsubscribes_.insert(channel);
      by_node[where->second].push_back(channel);
    }
    for (auto& [address, channels] : by_node) {
      expecting_ += channels.size();
      std::vector<std::string_view> cmd{"SUNSUBSCRIBE"};
      for (const std::string& c : channels) cmd.push_back(c);
      std::string bytes;
      resp::appendCommand(bytes, cmd);
      shard_links_[address].conn->sendRaw(bytes);
    }
  } else if (op == Handler::kPing) {
    if (global_) {
      std::vector<std::string_view> cmd(argv.begin(), argv.end());
      std::string bytes;
      resp::appendCommand(bytes, cmd);
      expecting_ = 1;
      global_->sendRaw(bytes);
    } else {
      std::string out;
      if (proto_ == 3) {
        if (argv.size() > 1) resp::appendBulk(out, argv[1]);
        else out = "+PONG\r\n";
      } else {
        resp::appendArrayHeader(out, 2);
        resp::appendBulk(out, "pong");
        resp::appendBulk(out, argv.size() > 1 ? argv[1] : "");
      }
      answer(out);
    }
  }
  updateInfo();
}

void Subscriptions::updateInfo() {
  info_.subscriptions.store(static_cast<int>(channels_.size()), std::memory_order_relaxed);
  info_.patterns.store(static_cast<int>(patterns_.size()), std::memory_order_relaxed);
  info_.shard_subscriptions.store(static_cast<int>(shard_.size()), std::memory_order_relaxed);
}

void Subscriptions::ensureGlobal() {
  if (global_) return;
  backend::NodeLink* node = dispatcher_.pubsubNode();
  if (!node) return;
  global_ = dispatcher_.links().openExclusive(node->host(), node->port());
  std::weak_ptr<bool> alive = alive_;
  global_->setPushHandler([this, alive](std::string_view reply) {
    if (auto flag = alive.lock(); flag && *flag) onGlobalPush(reply);
  });
  global_->setCloseHandler([this, alive](const std::string&) {
    if (auto flag = alive.lock(); flag && *flag) onGlobalClosed();
  });
  syncKeyspace();  // no keyspace link to the global link's node
}

void Subscriptions::sendGlobal(std::string_view name, std::span<const std::string> args, bool swallow) {
  ensureGlobal();
  if (!global_) {
    // No node known yet: keep the wish and try again shortly.
    later(resubscribeDelayMs(global_attempts_++), [this] { resubscribeGlobal(); });
    return;
  }
  std::vector<std::string_view> cmd{name};
  for (const std::string& a : args) cmd.push_back(a);
  if (swallow) {
    for (const std::string& a : args) swallow_.insert(std::string(name) + " " + a);
  }
  std::string bytes;
  resp::appendCommand(bytes, cmd);
  global_->sendRaw(bytes);
}

void Subscriptions::onGlobalPush(std::string_view reply) {
  if (isMessage(reply)) return emit_(reply);
  global_attempts_ = 0;
  std::vector<std::string_view> elements;
  if (elementsOf(reply, &elements) && elements.size() == 3 && elements[2].starts_with(":")) {
    std::string_view kind = bulkText(elements[0]);
    bool null_channel = elements[1] == "$-1\r\n" || elements[1] == "_\r\n";
    std::string_view channel = bulkText(elements[1]);
    if (kind == "subscribe" || kind == "unsubscribe" || kind == "psubscribe" || kind == "punsubscribe") {
      return confirm(kind, channel, null_channel);
    }
  }
  emitOwed(reply, false);  // PING replies, errors
}

void Subscriptions::confirm(std::string_view kind, std::string_view channel, bool null_channel) {
  std::string key(kind);
  key += ' ';
  key += channel;
  std::set<std::string>* confirmed = nullptr;
  bool add = kind == "subscribe" || kind == "psubscribe" || kind == "ssubscribe";
  if (kind == "subscribe" || kind == "unsubscribe") confirmed = &confirmed_channels_;
  else if (kind == "psubscribe" || kind == "punsubscribe") confirmed = &confirmed_patterns_;
  else confirmed = &confirmed_shard_;
  if (!null_channel) {
    if (add) confirmed->insert(std::string(channel));
    else confirmed->erase(std::string(channel));
  }
  if (auto it = swallow_.find(key); it != swallow_.end()) {
    swallow_.erase(it);
    return;
  }
  size_t count = confirmed == &confirmed_shard_ ? confirmed_shard_.size()
                                                : confirmed_channels_.size() + confirmed_patterns_.size();
  emitOwed(confirmation(kind, channel, null_channel, count));
}

void Subscriptions::emitConfirmation(std::string_view kind, std::string_view channel, bool null_channel,
                                     size_t count) {
  emit_(confirmation(kind, channel, null_channel, count));
}

std::string Subscriptions::confirmation(std::string_view kind, std::string_view channel, bool null_channel,
                                        size_t count) const {
  std::string out;
  resp::appendPushHeader(out, 3, proto_);
  resp::appendBulk(out, kind);
  if (null_channel) resp::appendNull(out, proto_);
  else resp::appendBulk(out, channel);
  resp::appendInteger(out, static_cast<int64_t>(count));
  return out;
}

void Subscriptions::onGlobalClosed() {
  common::logger("session")->info("client {}: pub/sub connection to {} lost; subscribing again elsewhere",
                                  info_.id, global_ ? global_->address() : "?");
  retire(std::move(global_));
  if (expecting_ > 0) settle();  // what the node owed will not come; the client goes on
  // Confirmed state went with the node; what the client asked for stays.
  confirmed_channels_.clear();
  confirmed_patterns_.clear();
  swallow_.clear();
  later(resubscribeDelayMs(global_attempts_++), [this] { resubscribeGlobal(); });
}

void Subscriptions::resubscribeGlobal() {
  if (global_ || (channels_.empty() && patterns_.empty())) return;
  // Restored subscriptions are confirmed silently: the client already saw them confirmed once.
  std::vector<std::string> channels(channels_.begin(), channels_.end());
  std::vector<std::string> patterns(patterns_.begin(), patterns_.end());
  if (!channels.empty()) sendGlobal("subscribe", channels, true);
  if (!patterns.empty()) sendGlobal("psubscribe", patterns, true);
}

}  // namespace slotgate::state
