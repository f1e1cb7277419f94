#include "proxy/request/info_merge.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <vector>

#include "proxy/resp/number.h"
#include "proxy/resp/value.h"
#include "proxy/resp/writer.h"

namespace slotgate::request {
namespace {

struct Section {
  std::string title;  // as the node wrote it, e.g. "Server"
  std::vector<std::pair<std::string, std::string>> fields;
};

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::vector<Section> parseInfo(std::string_view text) {
  std::vector<Section> sections;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::string_view title = line.substr(1);
      while (!title.empty() && title.front() == ' ') title.remove_prefix(1);
      sections.push_back({std::string(title), {}});
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || sections.empty()) continue;
    sections.back().fields.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }
  return sections;
}

bool asInt(const std::string& text, int64_t* value) { return resp::parseInt(text, value); }

bool asDouble(const std::string& text, double* value) {
  if (text.empty()) return false;
  char* end = nullptr;
  *value = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

// "calls=1,usec=2" <-> ordered key/value pairs.
std::vector<std::pair<std::string, std::string>> parseList(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    std::string item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t eq = item.find('=');
    if (eq != std::string::npos) out.emplace_back(item.substr(0, eq), item.substr(eq + 1));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

std::string humanBytes(int64_t bytes) {
  double d = static_cast<double>(bytes);
  if (bytes < 1024) return fmt::format("{}B", bytes);
  if (bytes < 1024ll * 1024) return fmt::format("{:.2f}K", d / 1024);
  if (bytes < 1024ll * 1024 * 1024) return fmt::format("{:.2f}M", d / (1024 * 1024));
  return fmt::format("{:.2f}G", d / (1024.0 * 1024 * 1024));
}

// Sums list-valued fields ("calls=..,usec=..") over nodes, recomputing averages.
std::string mergeListField(const std::string& section, const std::vector<std::string>& values) {
  std::vector<std::pair<std::string, std::string>> first = parseList(values[0]);
  std::map<std::string, double> sums;
  for (const std::string& value : values) {
    for (auto& [k, v] : parseList(value)) {
      double d = 0;
      if (asDouble(v, &d)) sums[k] += d;
    }
  }
  if (section == "keyspace" && sums["expires"] > 0) {
    // avg_ttl weighted by each node's keys with a TTL.
    double weighted = 0;
    for (const std::string& value : values) {
      double expires = 0, ttl = 0;
      for (auto& [k, v] : parseList(value)) {
        if (k == "expires") asDouble(v, &expires);
        if (k == "avg_ttl") asDouble(v, &ttl);
      }
      weighted += expires * ttl;
    }
    sums["avg_ttl"] = weighted / sums["expires"];
  }
  if (section == "commandstats" && sums["calls"] > 0) sums["usec_per_call"] = sums["usec"] / sums["calls"];
  std::string out;
  for (auto& [k, v] : first) {
    if (!out.empty()) out += ',';
    double sum = sums[k];
    bool fractional = v.find('.') != std::string::npos;
    out += k + "=" + (fractional ? fmt::format("{:.2f}", sum) : fmt::format("{}", static_cast<int64_t>(sum)));
  }
  return out;
}

// How a field of Stats or Persistence becomes one server's: counters add up over the primaries
// (each counts its own keys and commands); a state or a duration is the largest (a save running
// anywhere is running); the last save is the oldest (changes since it are not all saved); a
// status is the first that is not "ok".
enum class Fold : uint8_t { kSum, kMax, kMin, kWorst };

Fold persistenceFold(std::string_view key) {
  if (key.ends_with("_status")) return Fold::kWorst;
  if (key == "rdb_last_save_time" || key == "loading_start_time") return Fold::kMin;
  if (key == "loading" || key == "async_loading" || key == "aof_enabled" || key == "current_cow_peak" ||
      key.ends_with("_in_progress") || key.ends_with("_scheduled") || key.ends_with("_time_sec") ||
      key.ends_with("_failures") || key.ends_with("_perc") || key.ends_with("_eta_seconds") ||
      key.ends_with("_age"))
    return Fold::kMax;
  return Fold::kSum;
}

Fold statsFold(std::string_view key) {
  if (key.starts_with("current_") || key == "latest_fork_usec" || key.ends_with("_perc")) return Fold::kMax;
  return Fold::kSum;
}

// `values` in node order; the first node's text when they are not all numbers.
std::string fold(Fold how, const std::vector<std::string>& values, const std::string& first) {
  if (values.empty()) return first;
  if (how == Fold::kWorst) {
    for (const std::string& v : values) {
      if (v != "ok") return v;
    }
    return first;
  }
  bool fractional = false;
  std::vector<double> numbers;
  for (const std::string& v : values) {
    double d = 0;
    if (!asDouble(v, &d)) return first;
    fractional |= v.find('.') != std::string::npos;
    numbers.push_back(d);
  }
  if (!fractional) {
    std::vector<int64_t> ints;
    for (const std::string& v : values) {
      int64_t x = 0;
      if (!asInt(v, &x)) return first;
      ints.push_back(x);
    }
    int64_t out = how == Fold::kSum ? 0 : ints[0];
    for (int64_t x : ints)
      out = how == Fold::kSum ? out + x : how == Fold::kMax ? std::max(out, x) : std::min(out, x);
    return std::to_string(out);
  }
  double out = how == Fold::kSum ? 0 : numbers[0];
  for (double d : numbers)
    out = how == Fold::kSum ? out + d : how == Fold::kMax ? std::max(out, d) : std::min(out, d);
  return fmt::format("{:.2f}", out);
}

void appendProxySection(std::string& out, const ProxyInfo& p) {
  out += "# Proxy\r\n";
  out += fmt::format("slotgate_version:{}\r\nuptime_in_seconds:{}\r\nthreads:{}\r\ntcp_port:{}\r\n", p.version,
                     p.uptime_s, p.threads, p.port);
  out += fmt::format("connected_clients:{}\r\nparked_clients:{}\r\n", p.connected_clients, p.parked_clients);
  out += fmt::format("total_connections_received:{}\r\ntotal_commands_processed:{}\r\n", p.total_connections,
                     p.total_commands);
  out += fmt::format("commands_forwarded:{}\r\nmoved_redirects:{}\r\nask_redirects:{}\r\ntryagain_retries:{}\r\n",
                     p.commands_forwarded, p.moved, p.ask, p.tryagain);
  out += fmt::format("node_retries:{}\r\nnode_errors:{}\r\ncluster_nodes:{}\r\ncluster_primaries:{}\r\n",
                     p.node_retries, p.node_errors, p.nodes, p.primaries);
  out += fmt::format("cluster_slots_covered:{}\r\n", p.slots_covered);
  out += fmt::format("maxclients:{}\r\nrejected_connections:{}\r\ndenied_connections:{}\r\n", p.max_clients,
                     p.rejected_connections, p.denied_connections);
  out += fmt::format("client_output_limit_disconnections:{}\r\nclient_idle_disconnections:{}\r\n",
                     p.output_limit_disconnects, p.idle_disconnects);
  out += fmt::format("buffered_bytes:{}\r\nmaxmemory:{}\r\noom_rejections:{}\r\n", p.buffered_bytes, p.maxmemory,
                     p.oom_rejections);
}

}  // namespace

std::string mergeInfo(std::span<const std::string> replies, std::span<const std::string> sections,
                      const ProxyInfo& proxy) {
  std::vector<std::vector<Section>> nodes;
  for (const std::string& reply : replies) {
    auto value = resp::decodeValue(reply);
    nodes.push_back(value && value->isString() ? parseInfo(value->str) : std::vector<Section>{});
  }
  std::string out;
  const std::vector<Section> empty;
  const std::vector<Section>& first = nodes.empty() ? empty : nodes[0];
  for (const Section& section : first) {
    std::string name = lower(section.title);
    out += "# " + section.title + "\r\n";
    std::map<std::string, int64_t> int_sums;
    for (const auto& [key, value] : section.fields) {
      // The same field from every node, in node order.
      std::vector<std::string> values;
      for (const auto& node : nodes) {
        for (const Section& s : node) {
          if (lower(s.title) != name) continue;
          for (const auto& [k, v] : s.fields) {
            if (k == key) values.push_back(v);
          }
        }
      }
      std::string merged = value;
      int64_t sum = 0;
      bool all_int = std::all_of(values.begin(), values.end(), [](const std::string& v) {
        int64_t x;
        return asInt(v, &x);
      });
      if (all_int) {
        for (const std::string& v : values) {
          int64_t x = 0;
          asInt(v, &x);
          sum += x;
        }
      }
      if (name == "server") {
        if (key == "redis_mode") merged = "standalone";
        else if (key == "tcp_port") merged = std::to_string(proxy.port);
        else if (key == "process_id") merged = std::to_string(proxy.pid);
        else if (key == "uptime_in_seconds") merged = std::to_string(proxy.uptime_s);
        else if (key == "uptime_in_days") merged = std::to_string(proxy.uptime_s / 86400);
        else if (key == "executable" || key == "config_file") continue;  // a node's paths, not ours
      } else if (name == "clients") {
        if (key == "connected_clients") merged = std::to_string(proxy.connected_clients);
        else if (key == "maxclients") merged = std::to_string(proxy.max_clients);
        else if (key == "blocked_clients" && all_int) merged = std::to_string(sum);
        else if (key == "cluster_connections") continue;
      } else if (name == "stats") {
        // Connections are slotgate's clients'; the rest is the nodes' work, added up.
        if (key == "total_connections_received") merged = std::to_string(proxy.total_connections);
        else if (key == "rejected_connections") merged = std::to_string(proxy.rejected_connections);
        else merged = fold(statsFold(key), values, value);
      } else if (name == "persistence") {
        merged = fold(persistenceFold(key), values, value);
      } else if (name == "memory") {
        if (key.ends_with("_human") && int_sums.count(key.substr(0, key.size() - 6))) {
          merged = humanBytes(int_sums[key.substr(0, key.size() - 6)]);
        } else if (all_int && !key.ends_with("_time") && key != "maxmemory") {
          merged = std::to_string(sum);
          int_sums[key] = sum;
        }
      } else if (name == "cpu") {
        double total = 0, d = 0;
        bool all_double =
            std::all_of(values.begin(), values.end(), [&](const std::string& v) { return asDouble(v, &d); });
        if (all_double) {
          for (const std::string& v : values) {
            asDouble(v, &d);
            total += d;
          }
          merged = fmt::format("{:.6f}", total);
        }
      } else if (name == "commandstats" || name == "errorstats" || name == "keyspace" || name == "latencystats") {
        if (name != "latencystats") merged = mergeListField(name, values);
      } else if (name == "replication") {
        // One standalone server with no replicas of its own.
        if (key == "role") merged = "master";
        else if (key == "connected_slaves") merged = "0";
        else if (key.starts_with("slave")) continue;
      } else if (name == "cluster") {
        // Cluster-aware clients check this before CLUSTER SLOTS, which shows slotgate as a
        // one-node cluster: they then keep all their traffic on slotgate.
        if (key == "cluster_enabled") merged = "1";
      }
      out += key + ":" + merged + "\r\n";
    }
    // Keyspace lines that only later nodes have (a db empty on the first).
    if (name == "keyspace" || name == "commandstats" || name == "errorstats") {
      std::map<std::string, std::vector<std::string>> extra;
      for (size_t n = 1; n < nodes.size(); ++n) {
        for (const Section& s : nodes[n]) {
          if (lower(s.title) != name) continue;
          for (const auto& [k, v] : s.fields) {
            bool known = std::any_of(section.fields.begin(), section.fields.end(),
                                     [&](const auto& f) { return f.first == k; });
            if (!known) extra[k].push_back(v);
          }
        }
      }
      for (auto& [k, values] : extra) out += k + ":" + mergeListField(name, values) + "\r\n";
    }
    out += "\r\n";
  }
  bool want_proxy = sections.empty();
  for (const std::string& s : sections) {
    std::string l = lower(s);
    if (l == "proxy" || l == "all" || l == "everything" || l == "default") want_proxy = true;
  }
  if (want_proxy) appendProxySection(out, proxy);
  if (out.size() >= 2 && out.ends_with("\r\n\r\n")) out.resize(out.size() - 2);
  std::string reply;
  resp::appendBulk(reply, out);
  return reply;
}

}  // namespace slotgate::request
