#include "proxy/cluster/cluster_nodes.h"

#include <charconv>

namespace slotgate::cluster {
namespace {

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(sep, start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

template <typename T>
bool number(std::string_view text, T* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

bool parseClusterNodes(std::string_view text, std::vector<ClusterNodesEntry>* out, std::string* error) {
  out->clear();
  for (std::string_view line : split(text, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    std::vector<std::string_view> f = split(line, ' ');
    if (f.size() < 8) {
      *error = "CLUSTER NODES line with " + std::to_string(f.size()) + " fields";
      return false;
    }
    ClusterNodesEntry e;
    e.id = std::string(f[0]);
    // ip:port@cport[,hostname]; IPv6 ips contain ':' too, so the port follows the last one.
    std::string_view addr = f[1].substr(0, f[1].find(','));
    size_t at = addr.find('@');
    std::string_view hostport = addr.substr(0, at);
    size_t colon = hostport.rfind(':');
    if (colon == std::string_view::npos || !number(hostport.substr(colon + 1), &e.port) ||
        (at != std::string_view::npos && !number(addr.substr(at + 1), &e.cport))) {
      *error = "CLUSTER NODES address malformed: " + std::string(f[1]);
      return false;
    }
    e.host = std::string(hostport.substr(0, colon));
    for (std::string_view flag : split(f[2], ',')) {
      if (flag == "master") e.master = true;
      if (flag == "fail") e.fail = true;
      if (flag == "fail?") e.pfail = true;
      if (flag == "handshake") e.handshake = true;
      if (flag == "myself") e.myself = true;
    }
    if (f[3] != "-") e.master_id = std::string(f[3]);
    if (!number(f[6], &e.config_epoch)) {
      *error = "CLUSTER NODES config epoch malformed: " + std::string(f[6]);
      return false;
    }
    out->push_back(std::move(e));
  }
  return true;
}

void annotate(Topology& topology, const std::vector<ClusterNodesEntry>& entries) {
  for (const ClusterNodesEntry& e : entries) {
    int index = topology.findById(e.id);
    if (index < 0 && !e.host.empty()) index = topology.findByAddress(e.host, e.port);
    if (index < 0) continue;
    NodeInfo& node = topology.node(index);
    node.cport = e.cport;
    node.config_epoch = e.config_epoch;
    if (node.id.empty()) node.id = e.id;
    if (e.fail && node.primary) node.failing = true;
  }
}

}  // namespace slotgate::cluster
