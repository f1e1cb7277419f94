// Subscriptions' keyspace links: the channels and patterns that can carry keyspace notifications
// are subscribed on every primary besides the global link's node, following the worker's map.
// They deliver keyspace messages only; the global link delivers everything (its own node's
// keyspace events included), so a message every node has arrives once.
#include <algorithm>
#include <set>

#include "common/log.h"
#include "proxy/resp/writer.h"
#include "proxy/state/keyspace_channels.h"
#include "proxy/state/pubsub_reply.h"
#include "proxy/state/subscriptions.h"

namespace slotgate::state {
namespace {

// How often a client that wants keyspace notifications looks for a new map (a pointer compare).
constexpr uint64_t kKeyspacePollMs = 200;

}  // namespace

bool Subscriptions::wantsKeyspace() const {
  return std::any_of(channels_.begin(), channels_.end(),
                     [](const std::string& c) { return isKeyspaceChannel(c); }) ||
         std::any_of(patterns_.begin(), patterns_.end(),
                     [](const std::string& p) { return patternMayMatchKeyspace(p); });
}

std::vector<std::string> Subscriptions::keyspaceArgs(bool patterns) const {
  std::vector<std::string> out;
  for (const std::string& a : patterns ? patterns_ : channels_) {
    if (patterns ? patternMayMatchKeyspace(a) : isKeyspaceChannel(a)) out.push_back(a);
  }
  return out;
}

void Subscriptions::syncKeyspace() {
  if (!wantsKeyspace()) {
    for (auto& [address, conn] : keyspace_links_) retire(std::move(conn));
    keyspace_links_.clear();
    keyspace_map_ = nullptr;
    return;
  }
  watchKeyspace();
  if (!global_) return;  // the global link's node is not chosen yet
  const std::vector<backend::NodeLink*>& primaries = dispatcher_.primaries();
  bool global_primary = std::any_of(primaries.begin(), primaries.end(),
                                    [this](backend::NodeLink* n) { return n->address() == global_->address(); });
  if (!global_primary && !primaries.empty()) {
    // The global link's node is no longer a primary (a failover demoted it): a replica repeats
    // its primary's keyspace events, which that primary's keyspace link delivers too. Move it,
    // once the command it serves is answered.
    if (expecting_ > 0) return;
    common::logger("session")->info("client {}: pub/sub node {} is no longer a primary; moving", info_.id,
                                    global_->address());
    retire(std::move(global_));
    confirmed_channels_.clear();
    confirmed_patterns_.clear();
    swallow_.clear();
    resubscribeGlobal();  // its new link syncs the keyspace links
    return;
  }
  keyspace_map_ = dispatcher_.topology();
  std::set<std::string> wanted;
  for (backend::NodeLink* node : primaries) {
    if (node->address() == global_->address()) continue;
    wanted.insert(node->address());
    if (!keyspace_links_.count(node->address())) openKeyspaceLink(node->host(), node->port());
  }
  for (auto it = keyspace_links_.begin(); it != keyspace_links_.end();) {
    if (wanted.count(it->first)) {
      ++it;
      continue;
    }
    retire(std::move(it->second));
    it = keyspace_links_.erase(it);
  }
}

void Subscriptions::openKeyspaceLink(const std::string& host, uint16_t port) {
  std::unique_ptr<backend::NodeLink> conn = dispatcher_.links().openExclusive(host, port);
  std::string address = conn->address();
  std::weak_ptr<bool> alive = alive_;
  conn->setPushHandler([this, alive, address](std::string_view reply) {
    if (auto flag = alive.lock(); flag && *flag) onKeyspacePush(address, reply);
  });
  conn->setCloseHandler([this, alive, address](const std::string&) {
    if (auto flag = alive.lock(); flag && *flag) onKeyspaceClosed(address);
  });
  backend::NodeLink& link = *conn;
  keyspace_links_[address] = std::move(conn);
  for (bool patterns : {false, true}) {
    std::vector<std::string> args = keyspaceArgs(patterns);
    if (args.empty()) continue;
    std::vector<std::string_view> cmd{patterns ? "psubscribe" : "subscribe"};
    cmd.insert(cmd.end(), args.begin(), args.end());
    std::string bytes;
    resp::appendCommand(bytes, cmd);
    link.sendRaw(bytes);
  }
}

void Subscriptions::sendKeyspace(std::string_view name, std::span<const std::string> args, bool patterns) {
  if (keyspace_links_.empty()) return;
  std::vector<std::string_view> cmd{name};
  for (const std::string& a : args) {
    if (patterns ? patternMayMatchKeyspace(a) : isKeyspaceChannel(a)) cmd.push_back(a);
  }
  if (!args.empty() && cmd.size() == 1) return;
  std::string bytes;
  resp::appendCommand(bytes, cmd);
  for (auto& [address, conn] : keyspace_links_) conn->sendRaw(bytes);
}

void Subscriptions::onKeyspacePush(const std::string&, std::string_view reply) {
  if (isMessage(reply)) {
    // Ordinary messages reach every node: the global link delivers those.
    if (isKeyspaceChannel(messageChannel(reply))) emit_(reply);
    return;
  }
  keyspace_attempts_ = 0;  // confirmations: the node serves us; nothing for the client
}

void Subscriptions::onKeyspaceClosed(const std::string& address) {
  auto it = keyspace_links_.find(address);
  if (it == keyspace_links_.end()) return;
  retire(std::move(it->second));
  keyspace_links_.erase(it);
  common::logger("session")->info("client {}: keyspace link to {} lost; subscribing again", info_.id, address);
  later(resubscribeDelayMs(keyspace_attempts_++), [this] { syncKeyspace(); });
}

void Subscriptions::watchKeyspace() {
  if (keyspace_watching_) return;
  keyspace_watching_ = true;
  later(kKeyspacePollMs, [this] {
    keyspace_watching_ = false;
    if (!wantsKeyspace()) return;
    if (dispatcher_.topology() != keyspace_map_) syncKeyspace();
    watchKeyspace();
  });
}

}  // namespace slotgate::state
