#include "proxy/request/local_reply.h"

#include "proxy/command/key_slot.h"
#include "proxy/resp/errors.h"
#include "proxy/resp/number.h"
#include "proxy/resp/writer.h"

namespace slotgate::request {

LocalReply localReply(const command::CommandSpec& spec, std::span<const std::string_view> argv) {
  LocalReply out;
  std::string_view name = spec.name;
  if (name == "ping") {
    if (argv.size() > 1) {
      resp::appendBulk(out.reply, argv[1]);
    } else {
      resp::appendSimple(out.reply, "PONG");
    }
  } else if (name == "echo") {
    resp::appendBulk(out.reply, argv[1]);
  } else if (name == "quit") {
    resp::appendSimple(out.reply, "OK");
    out.close_after = true;
  } else if (name == "select") {
    int64_t db = 0;
    if (!resp::parseInt(argv[1], &db) || db < INT32_MIN || db > INT32_MAX) {
      out.reply = resp::err::kNotInteger;
    } else if (db != 0) {
      out.reply = resp::err::kSelectInCluster;
    } else {
      resp::appendSimple(out.reply, "OK");
    }
  } else if (name == "readonly" || name == "readwrite") {
    // Where reads go is the proxy's setting, not the client's; accepting keeps cluster-aware
    // clients that send these working.
    resp::appendSimple(out.reply, "OK");
  } else if (name == "cluster|keyslot") {
    resp::appendInteger(out.reply, command::keyHashSlot(argv[2]));
  } else {
    out.reply = resp::errorReply(fmt::runtime(resp::err::kNoLocalHandler), name);
  }
  return out;
}

}  // namespace slotgate::request
