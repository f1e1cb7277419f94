// Runs on the control loop and keeps the cluster's slot map current: bootstraps from the seeds,
// refreshes periodically, whenever a worker reports a redirect or a node error, and whenever the
// bus observer sees a claim or failure the map lacks (coalesced: one refresh in flight, and at
// least kMinRefreshGapMs between two). It asks the nodes it knows in turn (a node the observer
// names first, seeds last), so it keeps working after every seed has left. Each answer
// (CLUSTER SHARDS or SLOTS, annotated with CLUSTER NODES' epochs and bus ports) is merged with
// the map in use by config epoch, so a node that lags behind never takes slots backwards. Each
// new map is published as an immutable snapshot.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/uv/timer.h"
#include "config/config.h"
#include "proxy/backend/backend_pool.h"
#include "proxy/cluster/cluster_stats.h"
#include "proxy/cluster/topology.h"
#include "proxy/command/learned_commands.h"

namespace slotgate::discovery {

class TopologyTracker {
 public:
  using PublishFn = std::function<void(cluster::TopologyPtr)>;
  using PublishCommandsFn = std::function<void(command::LearnedCommandsPtr)>;

  // `publish_commands` hears of commands the nodes know and the generated table does not, read
  // from a node's COMMAND reply at start and after each topology change.
  // `tls`: the nodes are reached over TLS (backend.tls); null for plain TCP.
  TopologyTracker(common::uv::EventLoop& loop, const config::Config& config, common::tls::TlsContextPtr tls,
                  PublishFn publish, PublishCommandsFn publish_commands);
  ~TopologyTracker();

  void start();
  void stop();
  // Control loop thread only. `prefer` (host, port) is asked first when given.
  void requestRefresh(cluster::RefreshCause cause, const std::string& reason, const std::string& prefer_host = {},
                      uint16_t prefer_port = 0);
  // The bus observer's verdict on a node: failed (its slots wait for a replica) or alive again.
  void setFailing(const std::string& id, bool failing);
  // A node heard of through gossip: one more address to ask when the known ones fail.
  void addKnownNode(const std::string& host, uint16_t port);

  cluster::TopologyPtr current() const { return current_; }
  // New TLS settings (reload): the connections made from now on use them.
  void setTls(common::tls::TlsContextPtr tls);
  // Why the last query of a node failed (empty once one answered): what /readyz shows before
  // the first map.
  const std::string& lastFailure() const { return last_failure_; }
  cluster::ClusterStats& stats() { return stats_; }

 private:
  struct Candidate {
    std::string host;
    uint16_t port;
  };

  void beginRefresh(const std::string& reason);
  void askNext();
  void ask(const Candidate& node, bool use_slots);
  void onReply(const Candidate& node, bool used_slots, std::string_view reply);
  // Reads CLUSTER NODES from `node` for epochs and bus ports, then merges and adopts.
  void annotateAndAdopt(const Candidate& node, cluster::Topology topology);
  void onAttemptFailed(const std::string& why);
  void adopt(std::shared_ptr<cluster::Topology> topology, const Candidate& from);
  void applyObserved(cluster::Topology& topology) const;
  void publishNow();
  void endRefresh();
  // Reads COMMAND from `from`, publishes what it teaches, then calls `then` (also on failure).
  void learnCommands(const Candidate& from, std::function<void()> then);
  void learnFrom(const Candidate& from, std::string_view reply);

  common::uv::EventLoop& loop_;
  config::Config config_;
  common::tls::TlsContextPtr tls_;
  std::string last_failure_;
  PublishFn publish_;
  PublishCommandsFn publish_commands_;
  std::vector<std::string> learned_names_;  // what was last published
  std::unique_ptr<backend::BackendPool> pool_;
  std::unique_ptr<common::uv::Timer> periodic_;
  std::unique_ptr<common::uv::Timer> deferred_;
  std::unique_ptr<common::uv::Timer> sweep_;          // times out unanswered queries
  std::unique_ptr<common::uv::Timer> failover_poll_;  // refreshes often while a primary is failing
  cluster::TopologyPtr current_;
  std::vector<Candidate> candidates_;  // this refresh's nodes to ask, in order
  size_t next_candidate_ = 0;
  size_t rotation_ = 0;  // spreads refreshes over the known nodes
  bool refreshing_ = false;
  bool again_ = false;  // a refresh was asked for while one ran
  std::string again_reason_;
  std::optional<Candidate> prefer_, again_prefer_;
  std::unordered_map<std::string, bool> observed_;  // node id -> failing, as the observer last said
  std::vector<Candidate> gossip_nodes_;             // addresses learned from gossip
  cluster::ClusterStats stats_;
  uint64_t last_refresh_start_ms_ = 0;
  uint64_t generation_ = 0;  // ignores answers from an abandoned refresh
  bool stopped_ = false;
  bool warned_no_seed_ = false;
};

}  // namespace slotgate::discovery
