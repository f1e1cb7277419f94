#include "proxy/state/subscriptions.h"

#include <algorithm>

#include "common/log.h"
#include "common/retry_policy.h"
#include "proxy/cluster/redirect.h"
#include "proxy/command/key_slot.h"
#include "proxy/resp/array_reader.h"
#include "proxy/resp/writer.h"

namespace slotgate::state {
namespace {

// "$7\r\nmessage\r\n" -> "message"
std::string_view bulkText(std::string_view element) {
  if (element.empty() || element[0] != '$') return {};
  size_t start = element.find("\r\n") + 2;
  return element.substr(start, element.size() - start - 2);
}

// Messages pass through untouched: recognise them by their first bytes.
bool isMessage(std::string_view reply) {
  if (reply.size() < 16) return false;
  std::string_view rest = reply.substr(1);
  return rest.starts_with("3\r\n$7\r\nmessage\r\n") || rest.starts_with("4\r\n$8\r\npmessage\r\n") ||
         rest.starts_with("3\r\n$8\r\nsmessage\r\n");
}

// Elements of an array or push reply.
bool elementsOf(std::string_view reply, std::vector<std::string_view>* elements) {
  if (reply.empty() || (reply[0] != '*' && reply[0] != '>')) return false;
  if (reply[0] == '*') return resp::arrayElements(reply, elements);
  std::string copy(reply);
  copy[0] = '*';
  std::vector<std::string_view> in_copy;
  if (!resp::arrayElements(copy, &in_copy)) return false;
  elements->clear();
  for (std::string_view e : in_copy) elements->push_back(reply.substr(e.data() - copy.data(), e.size()));
  return true;
}

// The n-th (from 0) try to subscribe again on a node.
uint64_t delayFor(unsigned attempt) { return common::RetryPolicy::backoffMs(attempt + 1); }

}  // namespace

Subscriptions::Subscriptions(common::Clock& clock, request::Dispatcher& dispatcher, int proto, ClientInfo& info,
                             std::shared_ptr<request::ReplyLink> guard, Emit emit)
    : clock_(clock), dispatcher_(dispatcher), proto_(proto), info_(info),
      guard_(std::move(guard)), emit_(std::move(emit)) {}

Subscriptions::~Subscriptions() {
  *alive_ = false;
  retire(std::move(global_));
  for (auto& [address, link] : shard_links_) retire(std::move(link.conn));
}

// A connection may be in the middle of calling us: free it on a later loop turn.
void Subscriptions::retire(std::unique_ptr<backend::NodeLink> conn) {
  if (!conn) return;
  std::shared_ptr<backend::NodeLink> doomed(std::move(conn));
  clock_.post([doomed] {});
}

template <typename Fn>
void Subscriptions::later(uint64_t ms, Fn fn) {
  std::weak_ptr<bool> alive = alive_;
  clock_.after(ms, [alive, fn = std::move(fn)]() mutable {
    if (auto flag = alive.lock(); flag && *flag) fn();
  });
}

// A reply the client is owed for its last command.
void Subscriptions::emitOwed(std::string_view reply) {
  emit_(reply);
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
    case Handler::kSubscribe: return "subscribe";
    case Handler::kPsubscribe: return "psubscribe";
    case Handler::kUnsubscribe: return "unsubscribe";
    case Handler::kPunsubscribe: return "punsubscribe";
    case Handler::kSsubscribe: return "ssubscribe";
    case Handler::kSunsubscribe: return "sunsubscribe";
    default: return "ping";
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
      emit_(out);
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
}

void Subscriptions::sendGlobal(std::string_view name, std::span<const std::string> args, bool swallow) {
  ensureGlobal();
  if (!global_) {
    // No node known yet: keep the wish and try again shortly.
    later(delayFor(global_attempts_++), [this] { resubscribeGlobal(); });
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
  emitOwed(reply);  // PING replies, errors
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
  std::string out;
  resp::appendPushHeader(out, 3, proto_);
  resp::appendBulk(out, kind);
  if (null_channel) resp::appendNull(out, proto_);
  else resp::appendBulk(out, channel);
  resp::appendInteger(out, static_cast<int64_t>(count));
  emitOwed(out);
}

void Subscriptions::emitConfirmation(std::string_view kind, std::string_view channel, bool null_channel,
                                     size_t count) {
  std::string out;
  resp::appendPushHeader(out, 3, proto_);
  resp::appendBulk(out, kind);
  if (null_channel) resp::appendNull(out, proto_);
  else resp::appendBulk(out, channel);
  resp::appendInteger(out, static_cast<int64_t>(count));
  emit_(out);
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
  later(delayFor(global_attempts_++), [this] { resubscribeGlobal(); });
}

void Subscriptions::resubscribeGlobal() {
  if (global_ || (channels_.empty() && patterns_.empty())) return;
  // Restored subscriptions are confirmed silently: the client already saw them confirmed once.
  std::vector<std::string> channels(channels_.begin(), channels_.end());
  std::vector<std::string> patterns(patterns_.begin(), patterns_.end());
  if (!channels.empty()) sendGlobal("subscribe", channels, true);
  if (!patterns.empty()) sendGlobal("psubscribe", patterns, true);
}

Subscriptions::ShardLink& Subscriptions::shardLink(const std::string& host, uint16_t port) {
  std::string address = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  ShardLink& link = shard_links_[address];
  if (!link.conn) {
    link.conn = dispatcher_.links().openExclusive(host, port);
    std::weak_ptr<bool> alive = alive_;
    link.conn->setPushHandler([this, alive, address](std::string_view reply) {
      if (auto flag = alive.lock(); flag && *flag) onShardPush(address, reply);
    });
    link.conn->setCloseHandler([this, alive, address](const std::string&) {
      if (auto flag = alive.lock(); flag && *flag) onShardClosed(address);
    });
  }
  return link;
}

// One SSUBSCRIBE per slot (a node refuses channels of two slots in one command).
void Subscriptions::subscribeShard(std::span<const std::string> channels, bool swallow, const std::string& address) {
  std::map<uint16_t, std::vector<std::string>> by_slot;
  for (const std::string& c : channels) by_slot[command::keyHashSlot(c)].push_back(c);
  for (auto& [slot, group] : by_slot) {
    std::string host;
    uint16_t port = 0;
    if (!address.empty()) {
      size_t colon = address.rfind(':');
      host = address.substr(0, colon);
      if (host.starts_with('[')) host = host.substr(1, host.size() - 2);
      port = static_cast<uint16_t>(std::stoi(address.substr(colon + 1)));
    } else if (backend::NodeLink* owner = dispatcher_.ownerOf(slot)) {
      host = owner->host();
      port = owner->port();
    } else {
      dispatcher_.requestRefresh("shard channel slot " + std::to_string(slot) + " has no owner");
      later(delayFor(0), [this, group, now = clock_.nowMs()] { resubscribeShards(group, 1, now); });
      continue;
    }
    ShardLink& link = shardLink(host, port);
    std::vector<std::string_view> cmd{"SSUBSCRIBE"};
    for (const std::string& c : group) {
      cmd.push_back(c);
      shard_where_[c] = link.conn->address();
      if (swallow) swallow_.insert("ssubscribe " + c);
    }
    link.batches.push_back(group);
    std::string bytes;
    resp::appendCommand(bytes, cmd);
    link.conn->sendRaw(bytes);
  }
}

void Subscriptions::onShardPush(const std::string& address, std::string_view reply) {
  if (isMessage(reply)) return emit_(reply);
  auto it = shard_links_.find(address);
  if (it == shard_links_.end()) return;
  ShardLink& link = it->second;
  if (!reply.empty() && reply[0] == '-') {
    // A whole SSUBSCRIBE refused: MOVED (our map was stale) or a transient error.
    std::vector<std::string> batch;
    if (!link.batches.empty()) {
      batch = std::move(link.batches.front());
      link.batches.pop_front();
    }
    auto redirect = cluster::parseRedirect(reply.substr(1, reply.size() - 3));
    std::vector<std::string> still_wanted;
    for (const std::string& c : batch) {
      if (shard_.count(c)) still_wanted.push_back(c);
    }
    if (redirect && redirect->kind == cluster::Redirect::Kind::kMoved && !still_wanted.empty()) {
      dispatcher_.requestRefresh("MOVED for a shard channel");
      std::string target = (redirect->host.empty() ? link.conn->host() : redirect->host) + ":" +
                           std::to_string(redirect->port);
      bool swallowed = false;
      for (const std::string& c : still_wanted) swallowed |= swallow_.count("ssubscribe " + c) > 0;
      for (const std::string& c : still_wanted) {
        if (auto s = swallow_.find("ssubscribe " + c); s != swallow_.end()) swallow_.erase(s);
      }
      subscribeShard(still_wanted, swallowed, target);
      return;
    }
    if (!still_wanted.empty()) {
      later(delayFor(0), [this, still_wanted, now = clock_.nowMs()] { resubscribeShards(still_wanted, 1, now); });
    }
    return;
  }
  std::vector<std::string_view> elements;
  if (elementsOf(reply, &elements) && elements.size() == 3 && elements[2].starts_with(":")) {
    std::string_view kind = bulkText(elements[0]);
    bool null_channel = elements[1] == "$-1\r\n" || elements[1] == "_\r\n";
    std::string channel(bulkText(elements[1]));
    if (kind == "ssubscribe") {
      if (!link.batches.empty()) {
        auto& front = link.batches.front();
        front.erase(std::remove(front.begin(), front.end(), channel), front.end());
        if (front.empty()) link.batches.pop_front();
      }
      return confirm(kind, channel, null_channel);
    }
    if (kind == "sunsubscribe") {
      if (auto c = client_sunsubscribes_.find(channel); c != client_sunsubscribes_.end()) {
        client_sunsubscribes_.erase(c);
        shard_where_.erase(channel);
        return confirm(kind, channel, null_channel);
      }
      if (!null_channel && shard_.count(channel)) {
        // The node gave the slot away and dropped us: follow the slot to its new owner.
        confirmed_shard_.erase(channel);
        shard_where_.erase(channel);
        dispatcher_.requestRefresh("shard channel's slot moved");
        later(delayFor(0), [this, channel, now = clock_.nowMs()] { resubscribeShards({channel}, 1, now); });
        return;
      }
      return confirm(kind, channel, null_channel);
    }
  }
  emitOwed(reply);
}

void Subscriptions::onShardClosed(const std::string& address) {
  auto it = shard_links_.find(address);
  if (it == shard_links_.end()) return;
  std::vector<std::string> lost;
  for (auto& [channel, where] : shard_where_) {
    if (where == address && shard_.count(channel)) lost.push_back(channel);
  }
  for (const std::string& c : lost) {
    shard_where_.erase(c);
    confirmed_shard_.erase(c);
  }
  retire(std::move(it->second.conn));
  shard_links_.erase(it);
  if (expecting_ > 0) settle();
  common::logger("session")->info("client {}: shard pub/sub connection to {} lost; {} channel(s) to restore",
                                  info_.id, address, lost.size());
  if (!lost.empty()) {
    dispatcher_.requestRefresh("shard pub/sub node lost");
    later(delayFor(0), [this, lost, address, now = clock_.nowMs()] { resubscribeShards(lost, 1, now, address); });
  }
}

void Subscriptions::resubscribeShards(std::vector<std::string> channels, unsigned attempt, uint64_t since_ms,
                                      std::string lost_address) {
  std::vector<std::string> todo;
  for (const std::string& c : channels) {
    if (shard_.count(c) && !shard_where_.count(c)) todo.push_back(c);
  }
  if (todo.empty()) return;
  // While the map still names the node just lost (or none), the failover is not visible yet: wait
  // for it rather than knock on a dead node (bounded; after that, try whatever the map says).
  bool wait = false;
  for (const std::string& c : todo) {
    backend::NodeLink* owner = dispatcher_.ownerOf(command::keyHashSlot(c));
    wait = wait || !owner || owner->address() == lost_address;
  }
  if (wait && dispatcher_.retryPolicy().mayWait(since_ms, clock_.nowMs())) {
    if (attempt % 10 == 0) dispatcher_.requestRefresh("shard channel waits for a new owner");
    later(dispatcher_.retryPolicy().ownerPollMs(1), [this, todo, attempt, since_ms, lost_address] {
      resubscribeShards(todo, attempt + 1, since_ms, lost_address);
    });
    return;
  }
  subscribeShard(todo, true);  // it marks the confirmations to swallow
}

}  // namespace slotgate::state
