#include "proxy/cluster/topology.h"

#include <algorithm>

namespace slotgate::cluster {

std::string NodeInfo::address() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

Topology::Topology() { owner_.fill(-1); }

int Topology::addNode(NodeInfo node) {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].host == node.host && nodes_[i].port == node.port) {
      // A later, fuller description (a primary with slots) wins over a gossip-only mention.
      if (node.primary) nodes_[i].primary = true;
      if (nodes_[i].id.empty()) nodes_[i].id = node.id;
      return static_cast<int>(i);
    }
  }
  nodes_.push_back(std::move(node));
  return static_cast<int>(nodes_.size() - 1);
}

void Topology::assign(int first, int last, int index) {
  first = std::max(first, 0);
  last = std::min(last, kSlots - 1);
  for (int slot = first; slot <= last; ++slot) owner_[slot] = static_cast<int16_t>(index);
}

int Topology::coveredSlots() const {
  return static_cast<int>(std::count_if(owner_.begin(), owner_.end(), [](int16_t o) { return o >= 0; }));
}

size_t Topology::primaryCount() const {
  return static_cast<size_t>(
      std::count_if(nodes_.begin(), nodes_.end(), [](const NodeInfo& n) { return n.primary; }));
}

bool Topology::sameSlotMap(const Topology& other) const {
  for (int slot = 0; slot < kSlots; ++slot) {
    int a = owner_[slot], b = other.owner_[slot];
    if ((a < 0) != (b < 0)) return false;
    if (a >= 0 && (nodes_[a].host != other.nodes_[b].host || nodes_[a].port != other.nodes_[b].port)) {
      return false;
    }
  }
  return true;
}

int Topology::findById(const std::string& id) const {
  if (id.empty()) return -1;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].id == id) return static_cast<int>(i);
  }
  return -1;
}

int Topology::findByAddress(const std::string& host, uint16_t port) const {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].host == host && nodes_[i].port == port) return static_cast<int>(i);
  }
  return -1;
}

bool Topology::sameView(const Topology& other) const {
  if (nodes_.size() != other.nodes_.size() || !sameSlotMap(other)) return false;
  for (const NodeInfo& a : nodes_) {
    int j = other.findByAddress(a.host, a.port);
    if (j < 0) return false;
    const NodeInfo& b = other.nodes_[static_cast<size_t>(j)];
    if (a.id != b.id || a.primary != b.primary || a.failing != b.failing || a.healthy != b.healthy ||
        a.config_epoch != b.config_epoch || a.cport != b.cport) {
      return false;
    }
  }
  return true;
}

std::string Topology::slotRanges(int index, int* count) const {
  std::string ranges;
  int total = 0;
  for (int slot = 0; slot < kSlots; ++slot) {
    if (owner_[slot] != index) continue;
    int end = slot;
    while (end + 1 < kSlots && owner_[end + 1] == index) ++end;
    if (!ranges.empty()) ranges += ",";
    ranges += end == slot ? std::to_string(slot) : std::to_string(slot) + "-" + std::to_string(end);
    total += end - slot + 1;
    slot = end;
  }
  if (count) *count = total;
  return ranges;
}

std::string Topology::describe() const {
  std::string out;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (!nodes_[i].primary) continue;
    int count = 0;
    std::string ranges = slotRanges(static_cast<int>(i), &count);
    if (!out.empty()) out += "; ";
    out += nodes_[i].address() + " " + (ranges.empty() ? "no slots" : ranges) + " (" + std::to_string(count) +
           " slots)";
  }
  return out;
}

}  // namespace slotgate::cluster
