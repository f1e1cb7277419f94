// One client's pub/sub state. Channels and patterns ride one dedicated connection to any primary
// (a cluster's PUBLISH reaches every node); shard channels ride one dedicated connection per slot
// owner. Keyspace notifications are published only on the node that owns the key: the channels
// and patterns that can carry them are also subscribed on every other primary (followed as
// primaries come, fail over and go), and those links deliver only keyspace messages, so an
// ordinary message, which every node has, still arrives once. The session stays the source of truth: it knows what
// the client asked for, rewrites the counts in confirmations to what a standalone server would say, and when a
// node dies or a slot moves it subscribes again elsewhere and swallows the confirmations, so the client notices
// nothing but the messages published while no node was listening for it.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/retry_policy.h"
#include "proxy/backend/node_link.h"
#include "proxy/command/command_spec.h"
#include "proxy/request/dispatcher.h"
#include "proxy/request/request.h"
#include "proxy/state/client_registry.h"

namespace slotgate::state {

class Subscriptions {
 public:
  using Emit = std::function<void(std::string_view)>;

  // Node links come from the dispatcher's link source (they speak the client's protocol).
  Subscriptions(common::Clock& clock, request::Dispatcher& dispatcher, int proto, ClientInfo& info,
                std::shared_ptr<request::ReplyLink> guard, Emit emit);
  ~Subscriptions();
  Subscriptions(const Subscriptions&) = delete;
  Subscriptions& operator=(const Subscriptions&) = delete;

  // One of the (un)subscribe commands, or PING (only while subscribed). argv[0] is the command.
  void command(command::Handler op, std::span<const std::string_view> argv);
  // Subscribed to anything (a RESP2 client is then limited to the pub/sub commands).
  bool active() const { return !channels_.empty() || !patterns_.empty() || !shard_.empty(); }
  // A channel or pattern subscription lives on the shared pub/sub connection (PING goes there).
  bool hasGlobal() const { return global_ != nullptr; }
  // Replies the last command still owes the client; `on_settled` runs when it reaches zero (the
  // session takes no further command before, so replies keep a standalone server's order).
  size_t expecting() const { return expecting_; }
  void setOnSettled(std::function<void()> fn) { on_settled_ = std::move(fn); }
  // Where the answers to PING go (CLIENT REPLY may silence them, unlike pushes); `emit` if unset.
  void setAnswer(Emit answer) { answer_ = std::move(answer); }

 private:
  struct ShardLink {
    std::unique_ptr<backend::NodeLink> conn;
    std::deque<std::vector<std::string>> batches;  // SSUBSCRIBEs sent, oldest first
  };

  void sendGlobal(std::string_view name, std::span<const std::string> args, bool swallow);
  void ensureGlobal();
  void onGlobalPush(std::string_view reply);
  void onGlobalClosed();
  void resubscribeGlobal();
  void subscribeShard(std::span<const std::string> channels, bool swallow, const std::string& address = {});
  ShardLink& shardLink(const std::string& host, uint16_t port);
  void onShardPush(const std::string& address, std::string_view reply);
  void onShardClosed(const std::string& address);
  // Waits (within the retry policy's failover wait, from `since_ms`) for the map to name a live owner.
  void resubscribeShards(std::vector<std::string> channels, unsigned attempt, uint64_t since_ms,
                         std::string lost_address = {});
  // Keyspace links (subscriptions_keyspace.cc).
  bool wantsKeyspace() const;
  std::vector<std::string> keyspaceArgs(bool patterns) const;
  // Opens and closes keyspace links so every primary but the global link's has one.
  void syncKeyspace();
  void openKeyspaceLink(const std::string& host, uint16_t port);
  // Sends an (un)subscribe to every keyspace link, for those of `args` that can carry keyspace
  // notifications (all of them when `args` is empty: unsubscribe from everything).
  void sendKeyspace(std::string_view name, std::span<const std::string> args, bool patterns);
  void onKeyspacePush(const std::string& address, std::string_view reply);
  void onKeyspaceClosed(const std::string& address);
  // While keyspace notifications are wanted: follows the worker's map (new snapshots).
  void watchKeyspace();
  void confirm(std::string_view kind, std::string_view channel, bool null_channel);
  void emitConfirmation(std::string_view kind, std::string_view channel, bool null_channel, size_t count);
  // A (un)subscribe confirmation as the client's protocol shapes it.
  std::string confirmation(std::string_view kind, std::string_view channel, bool null_channel, size_t count) const;
  void updateInfo();
  // `push`: a confirmation (shown whatever CLIENT REPLY says); else a command's answer.
  void emitOwed(std::string_view reply, bool push = true);
  void answer(std::string_view reply) { (answer_ ? answer_ : emit_)(reply); }
  void settle();
  void retire(std::unique_ptr<backend::NodeLink> conn);
  // Runs `fn` after `ms` unless this is gone by then.
  template <typename Fn>
  void later(uint64_t ms, Fn fn) {
    std::weak_ptr<bool> alive = alive_;
    clock_.after(ms, [alive, fn = std::move(fn)]() mutable {
      if (auto flag = alive.lock(); flag && *flag) fn();
    });
  }
  // The n-th (from 0) try to subscribe again on a node.
  static uint64_t resubscribeDelayMs(unsigned attempt) { return common::RetryPolicy::backoffMs(attempt + 1); }

  common::Clock& clock_;
  request::Dispatcher& dispatcher_;
  int proto_;
  ClientInfo& info_;
  std::shared_ptr<request::ReplyLink> guard_;  // target null once the session is gone
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  Emit emit_;
  Emit answer_;

  // What the client asked for (decides subscribed mode and what to restore).
  std::set<std::string> channels_, patterns_, shard_;
  // What nodes have confirmed (the counts in confirmations).
  std::set<std::string> confirmed_channels_, confirmed_patterns_, confirmed_shard_;
  // Confirmations of our own re-subscriptions, not shown to the client: "kind channel".
  std::multiset<std::string> swallow_;
  // Shard channels the client itself unsubscribed (a sunsubscribe for another one means its slot
  // moved away from the node).
  std::multiset<std::string> client_sunsubscribes_;

  size_t expecting_ = 0;
  std::function<void()> on_settled_;
  std::unique_ptr<backend::NodeLink> global_;
  unsigned global_attempts_ = 0;
  std::map<std::string, std::unique_ptr<backend::NodeLink>> keyspace_links_;  // by node address
  cluster::TopologyPtr keyspace_map_;  // the snapshot the links were last synced to
  bool keyspace_watching_ = false;
  unsigned keyspace_attempts_ = 0;
  std::map<std::string, ShardLink> shard_links_;    // by node address
  std::map<std::string, std::string> shard_where_;  // channel -> node address
};

}  // namespace slotgate::state
