#include "proxy/request/slotgate_command.h"

#include <fnmatch.h>
#include <strings.h>

#include <fmt/format.h>

#include "common/log.h"
#include "config/config_loader.h"
#include "proxy/request/local_reply.h"
#include "proxy/resp/errors.h"
#include "proxy/resp/writer.h"

namespace slotgate::request {
namespace {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string currentLogLevel() {
  auto level = spdlog::get_level();
  auto name = spdlog::level::to_string_view(level);
  std::string text(name.data(), name.size());
  return text == "warning" ? "warn" : text;
}

std::string configGet(std::string_view pattern, const LocalContext& context) {
  std::string body;
  size_t count = 0;
  std::string glob(pattern);
  // The control port's snapshot is current the moment a SET or RELOAD returns; this worker's copy
  // follows a moment later.
  std::shared_ptr<const config::Config> current = context.control ? context.control->current() : nullptr;
  for (auto& [key, value] : config::settings(current ? *current : *context.config)) {
    if (fnmatch(glob.c_str(), key.c_str(), FNM_CASEFOLD) != 0) continue;
    resp::appendBulk(body, key);
    resp::appendBulk(body, key == "log.level" ? currentLogLevel() : value);
    count += 2;
  }
  std::string out;
  resp::appendArrayHeader(out, count);
  return out + body;
}

std::string configSet(std::string_view key, std::string_view value, const LocalContext& context) {
  if (context.control) return context.control->configSet(key, value);
  bool known = false;
  for (auto& [name, current] : config::settings(*context.config)) known |= equalsIgnoreCase(name, key);
  if (!known) return resp::errorReply(fmt::runtime(resp::err::kUnknownSetting), key);
  if (!equalsIgnoreCase(key, "log.level")) return resp::errorReply(fmt::runtime(resp::err::kSettingNotLive), key);
  std::string level(value);
  for (char& c : level) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!common::setLogLevel(level)) return resp::errorReply(fmt::runtime(resp::err::kBadSettingValue), value, key);
  common::logger("proxy")->info("log level set to {} by SLOTGATE CONFIG SET", level);
  std::string out;
  resp::appendSimple(out, "OK");
  return out;
}

// One line per node: id, address, role, primary, health, slot ranges.
std::string topology(const LocalContext& context) {
  if (!context.topology) return "no topology yet\n";
  const cluster::Topology& t = *context.topology;
  std::string out;
  for (size_t i = 0; i < t.nodes().size(); ++i) {
    const cluster::NodeInfo& node = t.nodes()[i];
    int count = 0;
    std::string ranges = t.slotRanges(static_cast<int>(i), &count);
    out += fmt::format("{} {} {} {} {} slots={} ranges={}\n", node.id.empty() ? "-" : node.id, node.address(),
                       node.primary ? "primary" : "replica", node.primary_id.empty() ? "-" : node.primary_id,
                       node.failing   ? "failing"
                       : node.healthy ? "online"
                                      : "failed",
                       count, ranges.empty() ? "-" : ranges);
  }
  return out;
}

constexpr std::string_view kHelp[] = {
    "SLOTGATE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CONFIG GET <pattern>",
    "    Return slotgate's settings matching the glob-style pattern.",
    "CONFIG SET <setting> <value>",
    "    Change a setting that can change while running, on every worker thread.",
    "RELOAD",
    "    Read the configuration file again and apply what can change while running (as SIGHUP).",
    "TOPOLOGY",
    "    Return the cluster's nodes, roles and slot ranges as slotgate sees them.",
    "HELP",
    "    Print this help.",
};

}  // namespace

std::string slotgateReply(const command::CommandSpec& spec, std::span<const std::string_view> argv,
                          const LocalContext& context) {
  using command::Handler;
  std::string out;
  switch (spec.handler) {
    case Handler::kSlotgateHelp:
      resp::appendArrayHeader(out, std::size(kHelp));
      for (std::string_view line : kHelp) resp::appendSimple(out, line);
      return out;
    case Handler::kSlotgateReload:
      return context.control ? context.control->reload() : std::string(resp::err::kNoReload);
    case Handler::kSlotgateTopology:
      resp::appendBulk(out, topology(context));
      return out;
    case Handler::kSlotgateConfig:
      // CONFIG's own verb is an argument: SLOTGATE CONFIG GET pattern | SET name value.
      if (equalsIgnoreCase(argv[2], "get") && argv.size() == 4) return configGet(argv[3], context);
      if (equalsIgnoreCase(argv[2], "set") && argv.size() == 5) return configSet(argv[3], argv[4], context);
      break;
    default:
      break;
  }
  out = resp::errorReply(fmt::runtime(resp::err::kUnknownSubcommand),
                         std::string(argv[1]) + " " + std::string(argv[2]), "SLOTGATE");
  return out;
}

}  // namespace slotgate::request
