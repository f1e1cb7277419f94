#include "proxy/request/executor.h"

#include <charconv>

#include "proxy/backend/backend_connection.h"
#include "proxy/request/exclusive_lease.h"
#include "proxy/request/merge.h"
#include "proxy/request/multi_request.h"
#include "proxy/request/slowlog.h"
#include "proxy/resp/array_reader.h"
#include "proxy/resp/errors.h"
#include "proxy/resp/value.h"
#include "proxy/resp/writer.h"

namespace slotgate::request {
namespace {

void reply(const std::shared_ptr<ReplyLink>& link, uint64_t seq, std::string_view bytes) {
  if (link->target) link->target->deliver(seq, bytes);
}

// The request as RESP: the bytes as received, or (inline requests) encoded into `storage`.
std::string_view encode(std::span<const std::string_view> argv, std::string_view raw, std::string& storage) {
  if (!raw.empty()) return raw;
  resp::appendCommand(storage, std::vector<std::string_view>(argv.begin(), argv.end()));
  return storage;
}

// Redis's cursor syntax: an unsigned decimal, nothing else.
bool parseCursor(std::string_view text, uint64_t* cursor) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *cursor);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

// SCRIPT EXISTS's merged array with 1 for each script slotgate knows.
std::string withKnownScripts(const std::string& merged, const std::vector<bool>& known) {
  std::vector<std::string_view> elements;
  if (!resp::arrayElements(merged, &elements) || elements.size() != known.size()) return merged;
  std::string out;
  resp::appendArrayHeader(out, elements.size());
  for (size_t i = 0; i < elements.size(); ++i) {
    if (known[i]) resp::appendInteger(out, 1);
    else out.append(elements[i]);
  }
  return out;
}

}  // namespace

Executor::Executor(Dispatcher& dispatcher, LocalContext local, const ProxyInfoSource* info)
    : dispatcher_(dispatcher), local_(std::move(local)), info_(info), rng_(std::random_device{}()) {}

Executor::Outcome Executor::execute(const route::Plan& plan, const command::CommandSpec& spec,
                                    std::span<const std::string_view> argv, std::string_view raw,
                                    const std::shared_ptr<ReplyLink>& link, uint64_t seq) {
  using command::Handler;
  Outcome outcome;
  // What the command's handler adds to its plan. Script bodies are remembered so a later EVALSHA
  // can be healed on a node that lacks the script.
  ScriptCache* scripts = dispatcher_.scripts();
  switch (spec.handler) {
    case Handler::kEval:
      if (scripts && argv.size() >= 2) scripts->remember(argv[1]);
      break;
    case Handler::kScriptLoad:
      if (scripts && argv.size() >= 3) scripts->remember(argv[2]);
      break;
    case Handler::kScriptFlush:
      if (scripts) scripts->clear();
      break;
    case Handler::kSlowlogGet:
    case Handler::kSlowlogLen:
    case Handler::kSlowlogReset:
    case Handler::kSlowlogHelp:
      if (local_.slowlog) {
        // The proxy's own slow log: what clients of slotgate wait for, not one node's view.
        reply(link, seq, local_.slowlog->reply(spec.handler, argv));
        return outcome;
      }
      break;
    default:
      break;
  }
  switch (plan.kind) {
    case route::Plan::Kind::kReject:
      reply(link, seq, plan.reply);
      break;
    case route::Plan::Kind::kLocal: {
      local_.slots_covered = dispatcher_.topology() ? dispatcher_.topology()->coveredSlots() : 0;
      local_.topology = dispatcher_.topology().get();
      LocalReply local = localReply(spec, argv, local_);
      outcome.close_after = local.close_after;
      reply(link, seq, local.reply);
      break;
    }
    case route::Plan::Kind::kSlot:
    case route::Plan::Kind::kAnyPrimary:
      if (plan.kind == route::Plan::Kind::kAnyPrimary && spec.handler == Handler::kConfigGet) {
        configGet(argv, raw, link, seq);
      } else {
        single(plan, spec, argv, raw, link, seq);
      }
      break;
    case route::Plan::Kind::kSplit:
      split(plan, spec, argv, link, seq);
      break;
    case route::Plan::Kind::kAllPrimaries:
    case route::Plan::Kind::kAllNodes:
      fanOut(plan, spec, argv, raw, link, seq);
      break;
    case route::Plan::Kind::kCursor:
      scan(argv, link, seq);
      break;
  }
  return outcome;
}

std::shared_ptr<ExclusiveLease> Executor::idleLink() {
  return std::make_shared<ExclusiveLease>(dispatcher_.links(), dispatcher_.clock());
}

void Executor::single(const route::Plan& plan, const command::CommandSpec& spec,
                      std::span<const std::string_view> argv, std::string_view raw,
                      const std::shared_ptr<ReplyLink>& link, uint64_t seq) {
  int slot = plan.kind == route::Plan::Kind::kSlot ? plan.slot : Request::kAnyPrimary;
  // Keyless scripts and FUNCTION STATS: the owner of slot 0, one node for every worker, so a
  // script, SCRIPT KILL's answer, FUNCTION STATS and -BUSY agree as on one server.
  if (slot == Request::kAnyPrimary && (spec.proxy_flags & command::kProxyOnePrimary)) slot = 0;
  // A script leaves on the script lane, and the client's commands follow it there until none is
  // in flight (the session clears the mark), so none overtakes another.
  if (spec.proxy_flags & command::kProxySlow) link->script_lane = true;
  std::string storage;
  auto request = Request::make(dispatcher_, link, seq, encode(argv, raw, storage), slot, plan.readonly, &spec);
  if (spec.proxy_flags & command::kProxyIdleLink) request->setLease(idleLink());
  // Every PUBLISH through slotgate leaves from one node, so a publisher's messages reach every
  // subscriber in the order published (two nodes would race over the cluster bus).
  if (spec.handler == command::Handler::kPublish) {
    if (backend::NodeLink* node = dispatcher_.pubsubNode()) request->pinTo(node);
  }
  dispatcher_.dispatch(request);
}

// CONFIG GET from any primary, without the nodes' credentials.
void Executor::configGet(std::span<const std::string_view> argv, std::string_view raw,
                         const std::shared_ptr<ReplyLink>& link, uint64_t seq) {
  auto multi = std::make_shared<MultiRequest>(
      link, seq, std::vector<PartLabel>{{-1, {}}},
      [](std::span<const std::string> parts) { return hideConfigSecrets(parts[0]); }, false);
  std::string storage;
  auto part =
      Request::make(dispatcher_, multi->partLink(), 0, encode(argv, raw, storage), Request::kAnyPrimary, true);
  dispatcher_.dispatch(part);
}

void Executor::split(const route::Plan& plan, const command::CommandSpec& spec,
                     std::span<const std::string_view> argv, const std::shared_ptr<ReplyLink>& link,
                     uint64_t seq) {
  if (spec.merge == Merge::kNone) {
    reply(link, seq, resp::errorReply(fmt::runtime(resp::err::kNotYetSupported), route::displayName(spec)));
    return;
  }
  auto layout = std::make_shared<ArrayLayout>();
  uint32_t first_key = plan.groups.front().key_positions.front();
  for (const route::SlotGroup& group : plan.groups) first_key = std::min(first_key, group.key_positions.front());
  std::vector<PartLabel> labels;
  labels.reserve(plan.groups.size());
  for (const route::SlotGroup& group : plan.groups) {
    std::vector<uint32_t> places;
    places.reserve(group.key_positions.size());
    for (uint32_t position : group.key_positions) places.push_back((position - first_key) / plan.key_step);
    layout->total += places.size();
    layout->positions.push_back(std::move(places));
    labels.push_back({group.slot, {}});
  }
  Merge merge_kind = spec.merge;
  auto multi = std::make_shared<MultiRequest>(
      link, seq, std::move(labels),
      [merge_kind, layout, this](std::span<const std::string> parts) {
        return merge(merge_kind, parts, layout.get(), &rng_);
      },
      toleratesErrors(merge_kind));
  // Parts for one node leave in the same loop turn, so in one write.
  std::vector<std::string_view> part_argv;
  std::string command;
  for (size_t i = 0; i < plan.groups.size(); ++i) {
    part_argv.assign(1, argv[0]);
    for (uint32_t position : plan.groups[i].key_positions) {
      for (uint32_t k = 0; k < plan.key_step; ++k) part_argv.push_back(argv[position + k]);
    }
    command.clear();
    resp::appendCommand(command, part_argv);
    auto part = Request::make(dispatcher_, multi->partLink(), i, command, plan.groups[i].slot, plan.readonly);
    dispatcher_.dispatch(part);
  }
}

void Executor::fanOut(const route::Plan& plan, const command::CommandSpec& spec,
                      std::span<const std::string_view> argv, std::string_view raw,
                      const std::shared_ptr<ReplyLink>& link, uint64_t seq) {
  Merge kind = spec.merge;
  if (kind == Merge::kNone) {
    reply(link, seq, resp::errorReply(fmt::runtime(resp::err::kNotYetSupported), route::displayName(spec)));
    return;
  }
  // PUBLISH reaches replicas too: their subscribers count.
  // SCRIPT KILL and FUNCTION KILL reach replicas too when reads go there (EVAL_RO, FCALL_RO).
  bool every_node =
      plan.kind == route::Plan::Kind::kAllNodes || spec.handler == command::Handler::kPubsubIntrospection ||
      ((spec.proxy_flags & command::kProxyIdleLink) && dispatcher_.options().read_from != ReadFrom::kMaster);
  std::vector<backend::NodeLink*> nodes = every_node ? dispatcher_.allNodes() : dispatcher_.primaries();
  if (nodes.empty()) {
    reply(link, seq, dispatcher_.hasTopology() ? resp::err::kSlotNotServed : resp::err::kNoTopology);
    return;
  }
  std::vector<PartLabel> labels;
  for (auto* node : nodes) labels.push_back({-1, node->address()});
  MultiRequest::MergeFn merge_fn;
  if (kind == Merge::kInfo) {
    std::vector<std::string> sections(argv.begin() + 1, argv.end());
    int proto = local_.proto;
    merge_fn = [sections, this, proto](std::span<const std::string> parts) {
      if (proto != 3) return mergeInfo(parts, sections, info_ ? info_->proxyInfo() : ProxyInfo{});
      // RESP3 nodes send INFO as a verbatim string; merge the text, answer in kind.
      std::vector<std::string> bulks;
      for (const std::string& part : parts) {
        if (part.starts_with("=")) {
          size_t start = part.find("\r\n") + 2 + 4;  // past "txt:"
          std::string bulk;
          resp::appendBulk(bulk, std::string_view(part).substr(start, part.size() - start - 2));
          bulks.push_back(std::move(bulk));
        } else {
          bulks.push_back(part);
        }
      }
      std::string merged = mergeInfo(bulks, sections, info_ ? info_->proxyInfo() : ProxyInfo{});
      if (!merged.starts_with("$")) return merged;
      size_t start = merged.find("\r\n") + 2;
      std::string out;
      resp::appendVerbatim(out, std::string_view(merged).substr(start, merged.size() - start - 2), 3);
      return out;
    };
  } else if (spec.handler == command::Handler::kScriptExists && dispatcher_.scripts()) {
    // 1 where every primary has the script, and also where slotgate knows its body (it loads it
    // on a node that lacks it): what an EVALSHA through slotgate would find.
    std::vector<bool> known;
    for (size_t i = 2; i < argv.size(); ++i) known.push_back(dispatcher_.scripts()->contains(argv[i]));
    merge_fn = [kind, known, this](std::span<const std::string> parts) {
      return withKnownScripts(merge(kind, parts, nullptr, &rng_), known);
    };
  } else {
    merge_fn = [kind, this](std::span<const std::string> parts) { return merge(kind, parts, nullptr, &rng_); };
  }
  auto multi =
      std::make_shared<MultiRequest>(link, seq, std::move(labels), std::move(merge_fn), toleratesErrors(kind));
  std::string storage;
  std::string_view command = encode(argv, raw, storage);
  for (size_t i = 0; i < nodes.size(); ++i) {
    auto part = Request::make(dispatcher_, multi->partLink(), i, command, Request::kAnyPrimary, plan.readonly);
    part->pinTo(nodes[i]);
    if (spec.proxy_flags & command::kProxyIdleLink) part->setLease(idleLink());
    dispatcher_.dispatch(part);
  }
}

void Executor::scan(std::span<const std::string_view> argv, const std::shared_ptr<ReplyLink>& link, uint64_t seq) {
  uint64_t cursor = 0;
  if (!parseCursor(argv[1], &cursor)) return reply(link, seq, resp::err::kInvalidCursor);
  const auto& primaries = dispatcher_.primaries();
  if (primaries.empty()) {
    return reply(link, seq, dispatcher_.hasTopology() ? resp::err::kSlotNotServed : resp::err::kNoTopology);
  }
  uint64_t index = cursor & ((1u << kScanIndexBits) - 1);
  uint64_t node_cursor = cursor >> kScanIndexBits;
  if (index >= primaries.size()) return reply(link, seq, resp::err::kInvalidCursor);
  std::string node_cursor_text = std::to_string(node_cursor);
  std::vector<std::string_view> part(argv.begin(), argv.end());
  part[1] = node_cursor_text;
  std::string command;
  resp::appendCommand(command, part);
  size_t primary_count = primaries.size();
  auto multi = std::make_shared<MultiRequest>(
      link, seq, std::vector<PartLabel>{{-1, primaries[index]->address()}},
      [index, primary_count](std::span<const std::string> parts) {
        std::vector<std::string_view> elements;
        if (!resp::arrayElements(parts[0], &elements) || elements.size() != 2) {
          return resp::errorReply(fmt::runtime(resp::err::kUnexpectedPartReply), "a SCAN reply");
        }
        auto value = resp::decodeValue(elements[0]);
        uint64_t node_next = 0;
        if (!value || !value->isString() || !parseCursor(value->str, &node_next) ||
            node_next >= (uint64_t{1} << (64 - kScanIndexBits))) {
          return resp::errorReply(fmt::runtime(resp::err::kUnexpectedPartReply), "a SCAN cursor");
        }
        // This primary is done: go on with the next one, from its beginning.
        uint64_t client_next = node_next != 0              ? (node_next << kScanIndexBits) | index
                               : index + 1 < primary_count ? index + 1
                                                           : 0;
        std::string out;
        resp::appendArrayHeader(out, 2);
        resp::appendBulk(out, std::to_string(client_next));
        out.append(elements[1]);
        return out;
      },
      false);
  auto request = Request::make(dispatcher_, multi->partLink(), 0, command, Request::kAnyPrimary, true);
  request->pinTo(primaries[index]);
  dispatcher_.dispatch(request);
}

}  // namespace slotgate::request
