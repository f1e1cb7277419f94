#include "proxy/admin/topology_json.h"

#include <fmt/format.h>

namespace slotgate::admin {

std::string jsonString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += fmt::format("\\u{:04x}", u);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string topologyJson(const cluster::Topology* topology, std::string_view gossip,
                         std::string_view discovery_error) {
  std::string extra;
  if (!gossip.empty()) extra += ",\"gossip\":" + jsonString(gossip);
  if (!discovery_error.empty()) extra += ",\"discovery_error\":" + jsonString(discovery_error);
  if (!topology) return "{\"slots_covered\":0,\"nodes\":[]" + extra + "}\n";
  std::string out = fmt::format("{{\"slots_covered\":{},\"nodes\":[", topology->coveredSlots());
  const auto& nodes = topology->nodes();
  for (size_t i = 0; i < nodes.size(); ++i) {
    const cluster::NodeInfo& node = nodes[i];
    // Ranges from the slot map itself, so they match what requests are routed by.
    std::string ranges;
    int count = 0;
    int first = -1;
    for (int slot = 0; slot <= cluster::kSlots; ++slot) {
      bool mine = slot < cluster::kSlots && topology->ownerOf(slot) == static_cast<int>(i);
      if (mine && first < 0) first = slot;
      if (!mine && first >= 0) {
        ranges += fmt::format("{}[{},{}]", ranges.empty() ? "" : ",", first, slot - 1);
        count += slot - first;
        first = -1;
      }
    }
    out += fmt::format(
        "{}{{\"id\":{},\"address\":{},\"role\":\"{}\",\"primary_id\":{},\"health\":\"{}\",\"slots\":{},"
        "\"slot_ranges\":[{}]}}",
        i == 0 ? "" : ",", jsonString(node.id), jsonString(node.address()), node.primary ? "primary" : "replica",
        node.primary_id.empty() ? "null" : jsonString(node.primary_id), node.healthy ? "online" : "failed", count,
        ranges);
  }
  return out + "]" + extra + "}\n";
}

}  // namespace slotgate::admin
