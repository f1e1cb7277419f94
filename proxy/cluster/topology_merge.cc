#include "proxy/cluster/topology_merge.h"

#include <vector>

namespace slotgate::cluster {

MergeResult mergeByEpoch(const Topology* current, Topology fresh, const std::string& answering_id) {
  MergeResult result;
  if (!current) {
    result.topology = std::move(fresh);
    return result;
  }
  const auto& old_nodes = current->nodes();
  // For each node of the current map: its index in `fresh` (-1 if it left).
  std::vector<int> in_fresh(old_nodes.size(), -1);
  for (size_t i = 0; i < old_nodes.size(); ++i) {
    in_fresh[i] = fresh.findById(old_nodes[i].id);
    if (in_fresh[i] < 0 && old_nodes[i].id.empty())
      in_fresh[i] = fresh.findByAddress(old_nodes[i].host, old_nodes[i].port);
  }
  // A node's config epoch never goes back: a lagging answer keeps the newest one known.
  for (size_t i = 0; i < old_nodes.size(); ++i) {
    if (in_fresh[i] < 0) continue;
    NodeInfo& node = fresh.node(in_fresh[i]);
    if (old_nodes[i].config_epoch > node.config_epoch && node.config_epoch != 0) {
      node.config_epoch = old_nodes[i].config_epoch;
    }
  }
  std::vector<std::pair<int, int>> keep;  // slot, index in fresh
  for (int slot = 0; slot < kSlots; ++slot) {
    int c = current->ownerOf(slot);
    int f = fresh.ownerOf(slot);
    if (c < 0) continue;
    int target = in_fresh[static_cast<size_t>(c)];
    if (f < 0) {
      // A node that lost track of a slot (it forgot the owner, or has not heard of the new one)
      // does not take it away: the owner in use answers for it, or redirects.
      if (target < 0) {
        NodeInfo copy = old_nodes[static_cast<size_t>(c)];
        copy.failing = false;
        target = fresh.addNode(std::move(copy));
        in_fresh[static_cast<size_t>(c)] = target;
      }
      keep.emplace_back(slot, target);
      continue;
    }
    const NodeInfo& cur = old_nodes[static_cast<size_t>(c)];
    if (target < 0 || target == f) continue;
    const NodeInfo& ans = fresh.nodes()[static_cast<size_t>(f)];
    if (cur.config_epoch == 0 || ans.config_epoch == 0 || cur.config_epoch <= ans.config_epoch) continue;
    if (!cur.id.empty() && cur.id == answering_id) continue;
    keep.emplace_back(slot, target);
  }
  for (auto [slot, target] : keep) {
    NodeInfo& node = fresh.node(target);
    const NodeInfo& cur = old_nodes[static_cast<size_t>(current->ownerOf(slot))];
    node.primary = true;
    node.primary_id.clear();
    if (cur.config_epoch > node.config_epoch) node.config_epoch = cur.config_epoch;
    fresh.assign(slot, slot, target);
  }
  result.kept_slots = static_cast<int>(keep.size());
  result.topology = std::move(fresh);
  return result;
}

}  // namespace slotgate::cluster
