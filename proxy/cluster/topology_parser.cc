#include "proxy/cluster/topology_parser.h"

namespace slotgate::cluster {
namespace {

using resp::Value;

std::string text(const Value* v) { return v && v->isString() ? v->str : std::string(); }

bool integer(const Value* v, int64_t* out) {
  if (!v) return false;
  if (v->type == Value::Type::kInteger) {
    *out = v->integer;
    return true;
  }
  if (v->isString()) {
    try {
      *out = std::stoll(v->str);
      return true;
    } catch (...) {
      return false;
    }
  }
  return false;
}

std::string hostOrFallback(std::string host, const std::string& fallback) {
  if (host.empty() || host == "?") return fallback;
  return host;
}

}  // namespace

std::optional<Topology> parseClusterShards(const Value& reply, const std::string& answering_host,
                                           std::string* error, bool tls) {
  if (!reply.isArray()) {
    *error = "CLUSTER SHARDS reply is not an array";
    return std::nullopt;
  }
  Topology topology;
  for (const Value& shard : reply.elements) {
    const Value* slots = shard.field("slots");
    const Value* nodes = shard.field("nodes");
    if (!slots || !nodes || !slots->isArray() || !nodes->isArray()) {
      *error = "CLUSTER SHARDS entry without slots or nodes";
      return std::nullopt;
    }
    int primary_index = -1;
    std::string primary_id;
    std::vector<NodeInfo> replicas;
    for (const Value& node : nodes->elements) {
      NodeInfo info;
      info.id = text(node.field("id"));
      // An unknown endpoint means "the address you reached me at", as in CLUSTER SLOTS.
      info.host = hostOrFallback(text(node.field("endpoint")), answering_host);
      int64_t port = 0, tls_port = 0;
      bool has_port = integer(node.field("port"), &port) && port > 0 && port <= 65535;
      bool has_tls_port = integer(node.field("tls-port"), &tls_port) && tls_port > 0 && tls_port <= 65535;
      if (tls && has_tls_port) {
        port = tls_port;
      } else if (!has_port) {
        *error = has_tls_port ? "CLUSTER SHARDS node with only a TLS port (tls-port " + std::to_string(tls_port) +
                                    "): set backend.tls.enabled"
                              : "CLUSTER SHARDS node without a valid port";
        return std::nullopt;
      }
      info.port = static_cast<uint16_t>(port);
      info.primary = text(node.field("role")) == "master";
      info.healthy = text(node.field("health")) != "fail";
      if (info.primary && primary_index < 0) {
        primary_id = info.id;
        primary_index = topology.addNode(std::move(info));
      } else {
        info.primary = false;
        replicas.push_back(std::move(info));
      }
    }
    for (NodeInfo& replica : replicas) {
      replica.primary_id = primary_id;
      topology.addNode(std::move(replica));
    }
    if (slots->elements.size() % 2 != 0) {
      *error = "CLUSTER SHARDS slot list of odd length";
      return std::nullopt;
    }
    for (size_t i = 0; i < slots->elements.size(); i += 2) {
      int64_t first = 0, last = 0;
      if (!integer(&slots->elements[i], &first) || !integer(&slots->elements[i + 1], &last) || first < 0 ||
          last >= kSlots || first > last) {
        *error = "CLUSTER SHARDS slot range out of bounds";
        return std::nullopt;
      }
      // Slots of a shard whose primary failed, with no replica promoted yet, stay unowned.
      if (primary_index >= 0) topology.assign(static_cast<int>(first), static_cast<int>(last), primary_index);
    }
  }
  return topology;
}

std::optional<Topology> parseClusterSlots(const Value& reply, const std::string& answering_host,
                                          std::string* error) {
  if (!reply.isArray()) {
    *error = "CLUSTER SLOTS reply is not an array";
    return std::nullopt;
  }
  Topology topology;
  for (const Value& range : reply.elements) {
    int64_t first = 0, last = 0;
    if (!range.isArray() || range.elements.size() < 3 || !integer(&range.elements[0], &first) ||
        !integer(&range.elements[1], &last) || first < 0 || last >= kSlots || first > last) {
      *error = "CLUSTER SLOTS entry malformed";
      return std::nullopt;
    }
    std::string primary_id;
    int primary_index = -1;
    for (size_t i = 2; i < range.elements.size(); ++i) {
      const Value& node = range.elements[i];
      int64_t port = 0;
      if (!node.isArray() || node.elements.size() < 2 || !integer(&node.elements[1], &port) || port <= 0 ||
          port > 65535) {
        *error = "CLUSTER SLOTS node entry malformed";
        return std::nullopt;
      }
      NodeInfo info;
      info.host = hostOrFallback(text(&node.elements[0]), answering_host);
      info.port = static_cast<uint16_t>(port);
      if (node.elements.size() >= 3) info.id = text(&node.elements[2]);
      info.primary = i == 2;
      if (info.primary) {
        primary_id = info.id;
        primary_index = topology.addNode(std::move(info));
      } else {
        info.primary_id = primary_id;
        topology.addNode(std::move(info));
      }
    }
    topology.assign(static_cast<int>(first), static_cast<int>(last), primary_index);
  }
  return topology;
}

}  // namespace slotgate::cluster
