// Subscriptions' shard channels: one link per slot owner, SSUBSCRIBE per slot, and following a
// slot to its new owner when the node drops the channel or dies.
#include <algorithm>
#include <map>

#include "common/log.h"
#include "proxy/cluster/redirect.h"
#include "proxy/command/key_slot.h"
#include "proxy/resp/writer.h"
#include "proxy/state/pubsub_reply.h"
#include "proxy/state/subscriptions.h"

namespace slotgate::state {

Subscriptions::ShardLink& Subscriptions::shardLink(const std::string& host, uint16_t port) {
  std::string address = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                        std::to_string(port);
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
void Subscriptions::subscribeShard(std::span<const std::string> channels, bool swallow,
                                   const std::string& address) {
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
      later(resubscribeDelayMs(0), [this, group, now = clock_.nowMs()] { resubscribeShards(group, 1, now); });
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
      later(resubscribeDelayMs(0),
            [this, still_wanted, now = clock_.nowMs()] { resubscribeShards(still_wanted, 1, now); });
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
        later(resubscribeDelayMs(0),
              [this, channel, now = clock_.nowMs()] { resubscribeShards({channel}, 1, now); });
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
    later(resubscribeDelayMs(0),
          [this, lost, address, now = clock_.nowMs()] { resubscribeShards(lost, 1, now, address); });
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
