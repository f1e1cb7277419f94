#include "proxy/request/local_reply.h"

#include <fmt/format.h>

#include "common/crc16.h"
#include "proxy/command/key_slot.h"
#include "proxy/request/slotgate_command.h"
#include "proxy/resp/errors.h"
#include "proxy/resp/number.h"
#include "proxy/resp/writer.h"

namespace slotgate::request {
namespace {

std::string clusterInfo(const LocalContext& c) {
  bool ok = c.slots_covered == command::kSlotCount;
  return fmt::format(
      "cluster_state:{}\r\ncluster_slots_assigned:{}\r\ncluster_slots_ok:{}\r\ncluster_slots_pfail:0\r\n"
      "cluster_slots_fail:0\r\ncluster_known_nodes:1\r\ncluster_size:1\r\ncluster_current_epoch:1\r\n"
      "cluster_my_epoch:1\r\ncluster_stats_messages_sent:0\r\ncluster_stats_messages_received:0\r\n"
      "total_cluster_links_buffer_limit_exceeded:0\r\n",
      ok ? "ok" : "fail", command::kSlotCount, c.slots_covered);
}

void appendNodeTriple(std::string& out, const LocalContext& c) {
  resp::appendArrayHeader(out, 3);
  resp::appendBulk(out, c.host);
  resp::appendInteger(out, c.port);
  resp::appendBulk(out, c.node_id);
}

std::string clusterSlots(const LocalContext& c) {
  std::string out;
  resp::appendArrayHeader(out, 1);
  resp::appendArrayHeader(out, 3);
  resp::appendInteger(out, 0);
  resp::appendInteger(out, command::kSlotCount - 1);
  appendNodeTriple(out, c);
  return out;
}

std::string clusterShards(const LocalContext& c) {
  std::string out;
  resp::appendArrayHeader(out, 1);
  resp::appendMapHeader(out, 2, c.proto);
  resp::appendBulk(out, "slots");
  resp::appendArrayHeader(out, 2);
  resp::appendInteger(out, 0);
  resp::appendInteger(out, command::kSlotCount - 1);
  resp::appendBulk(out, "nodes");
  resp::appendArrayHeader(out, 1);
  resp::appendMapHeader(out, 7, c.proto);
  resp::appendBulk(out, "id");
  resp::appendBulk(out, c.node_id);
  resp::appendBulk(out, "port");
  resp::appendInteger(out, c.port);
  resp::appendBulk(out, "ip");
  resp::appendBulk(out, c.host);
  resp::appendBulk(out, "endpoint");
  resp::appendBulk(out, c.host);
  resp::appendBulk(out, "role");
  resp::appendBulk(out, "master");
  resp::appendBulk(out, "replication-offset");
  resp::appendInteger(out, 0);
  resp::appendBulk(out, "health");
  resp::appendBulk(out, "online");
  return out;
}

std::string clusterNodes(const LocalContext& c) {
  return fmt::format("{} {}:{}@{} myself,master - 0 0 1 connected 0-{}\n", c.node_id, c.host, c.port,
                     c.port + 10000, command::kSlotCount - 1);
}

}  // namespace

std::string proxyNodeId(const std::string& host, uint16_t port) {
  std::string seed = "slotgate " + host + ":" + std::to_string(port);
  std::string id;
  for (int i = 0; id.size() < 40; ++i) {
    id += fmt::format("{:04x}", common::crc16(seed + "#" + std::to_string(i)));
  }
  return id.substr(0, 40);
}

LocalReply localReply(const command::CommandSpec& spec, std::span<const std::string_view> argv,
                      const LocalContext& context) {
  using command::Handler;
  LocalReply out;
  switch (spec.handler) {
    case Handler::kPing:
      if (argv.size() > 2) {
        // At most one argument, which PING's arity (-1) cannot say.
        out.reply = resp::errorReply(fmt::runtime(resp::err::kWrongArity), spec.name);
      } else if (argv.size() > 1) {
        resp::appendBulk(out.reply, argv[1]);
      } else {
        resp::appendSimple(out.reply, "PONG");
      }
      break;
    case Handler::kEcho:
      resp::appendBulk(out.reply, argv[1]);
      break;
    case Handler::kQuit:
      resp::appendSimple(out.reply, "OK");
      out.close_after = true;
      break;
    case Handler::kSelect: {
      int64_t db = 0;
      if (!resp::parseInt(argv[1], &db) || db < INT32_MIN || db > INT32_MAX) {
        out.reply = resp::err::kNotInteger;
      } else if (db != 0) {
        out.reply = resp::err::kSelectInCluster;
      } else {
        resp::appendSimple(out.reply, "OK");
      }
      break;
    }
    case Handler::kReadMode:
      // Where reads go is the proxy's setting, not the client's; accepting keeps cluster-aware
      // clients that send these working.
      resp::appendSimple(out.reply, "OK");
      break;
    case Handler::kClusterKeyslot:
      resp::appendInteger(out.reply, command::keyHashSlot(argv[2]));
      break;
    case Handler::kClusterInfo:
      resp::appendVerbatim(out.reply, clusterInfo(context), context.proto);
      break;
    case Handler::kClusterSlots:
      out.reply = clusterSlots(context);
      break;
    case Handler::kClusterShards:
      out.reply = clusterShards(context);
      break;
    case Handler::kClusterNodes:
      resp::appendVerbatim(out.reply, clusterNodes(context), context.proto);
      break;
    case Handler::kClusterMyid:
      resp::appendBulk(out.reply, context.node_id);
      break;
    case Handler::kSlotgateHelp:
    case Handler::kSlotgateReload:
    case Handler::kSlotgateTopology:
    case Handler::kSlotgateConfig:
      out.reply = slotgateReply(spec, argv, context);
      break;
    default:
      out.reply = resp::errorReply(fmt::runtime(resp::err::kNoLocalHandler), spec.name);
      break;
  }
  return out;
}

}  // namespace slotgate::request
