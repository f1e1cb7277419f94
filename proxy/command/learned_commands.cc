#include "proxy/command/learned_commands.h"

#include <algorithm>
#include <cctype>

#include "common/ascii.h"
#include "proxy/command/command_table.h"

namespace slotgate::command {
namespace {

using resp::Value;

int16_t number(const Value* v) {
  if (!v || v->type != Value::Type::kInteger) return 0;
  return static_cast<int16_t>(std::clamp<int64_t>(v->integer, INT16_MIN, INT16_MAX));
}

std::string text(const Value* v) { return v && v->isString() ? v->str : std::string(); }

uint32_t commandFlags(const Value& flags) {
  static const std::unordered_map<std::string, uint32_t> kFlags = {{"write", kFlagWrite},
                                                                   {"readonly", kFlagReadonly},
                                                                   {"denyoom", kFlagDenyOom},
                                                                   {"admin", kFlagAdmin},
                                                                   {"pubsub", kFlagPubsub},
                                                                   {"noscript", kFlagNoscript},
                                                                   {"blocking", kFlagBlocking},
                                                                   {"loading", kFlagLoading},
                                                                   {"stale", kFlagStale},
                                                                   {"skip_monitor", kFlagSkipMonitor},
                                                                   {"skip_slowlog", kFlagSkipSlowlog},
                                                                   {"fast", kFlagFast},
                                                                   {"no_auth", kFlagNoAuth},
                                                                   {"may_replicate", kFlagMayReplicate},
                                                                   {"no_multi", kFlagNoMulti},
                                                                   {"movablekeys", kFlagMovableKeys},
                                                                   {"allow_busy", kFlagAllowBusy},
                                                                   {"no_mandatory_keys", kFlagNoMandatoryKeys}};
  uint32_t bits = 0;
  for (const Value& flag : flags.elements) {
    auto it = kFlags.find(common::toLower(flag.str));
    if (it != kFlags.end()) bits |= it->second;
  }
  return bits;
}

// As the generator sets them from Redis's flags (a learned command is in no list of names).
uint16_t proxyFlags(uint32_t flags) {
  uint16_t bits = 0;
  if (flags & kFlagAdmin) bits |= kProxyAdminOnly;
  if (flags & kFlagBlocking) bits |= kProxyRunsAlone | kProxyWaits;
  return bits;
}

KeySpec keySpec(const Value& spec, std::deque<std::string>& keywords) {
  KeySpec out{BeginSearch::kUnknown, 0, nullptr, 0, FindKeys::kUnknown, 0, 0, 0, 0, 0, 0};
  if (const Value* flags = spec.field("flags")) {
    for (const Value& flag : flags->elements) {
      if (flag.str == "RO") out.flags |= kKeyRO;
      if (flag.str == "RW") out.flags |= kKeyRW;
      if (flag.str == "OW") out.flags |= kKeyOW;
      if (flag.str == "RM") out.flags |= kKeyRM;
      if (flag.str == "incomplete") out.flags |= kKeyIncomplete;
      if (flag.str == "variable_flags") out.flags |= kKeyVariableFlags;
    }
  }
  if (const Value* begin = spec.field("begin_search")) {
    std::string type = text(begin->field("type"));
    const Value* detail = begin->field("spec");
    if (type == "index" && detail) {
      out.begin = BeginSearch::kIndex;
      out.index = number(detail->field("index"));
    } else if (type == "keyword" && detail) {
      out.begin = BeginSearch::kKeyword;
      keywords.push_back(text(detail->field("keyword")));
      out.keyword = keywords.back().c_str();
      out.startfrom = number(detail->field("startfrom"));
    }
  }
  if (const Value* find = spec.field("find_keys")) {
    std::string type = text(find->field("type"));
    const Value* detail = find->field("spec");
    if (type == "range" && detail) {
      out.find = FindKeys::kRange;
      out.lastkey = number(detail->field("lastkey"));
      out.keystep = number(detail->field("keystep"));
      out.limit = number(detail->field("limit"));
    } else if (type == "keynum" && detail) {
      out.find = FindKeys::kKeynum;
      out.keynumidx = number(detail->field("keynumidx"));
      out.firstkey = number(detail->field("firstkey"));
      out.keystep = number(detail->field("keystep"));
    }
  }
  return out;
}

}  // namespace

std::optional<LearnedCommands> LearnedCommands::fromCommandReply(const Value& reply, std::string* error) {
  if (!reply.isArray()) {
    *error = "COMMAND reply is not an array";
    return std::nullopt;
  }
  LearnedCommands learned;
  for (const Value& entry : reply.elements) {
    // name, arity, flags, first key, last key, step, [acl categories, tips, key specs, subcommands]
    if (!entry.isArray() || entry.elements.size() < 6 || !entry.elements[0].isString() ||
        entry.elements[1].type != Value::Type::kInteger || !entry.elements[2].isArray()) {
      continue;
    }
    std::string name = common::toLower(entry.elements[0].str);
    if (name.empty() || findCommand(name) || learned.by_name_.count(name)) continue;
    Learned& l = learned.commands_.emplace_back();
    l.name = name;
    if (entry.elements.size() >= 9 && entry.elements[8].isArray()) {
      for (const Value& spec : entry.elements[8].elements) l.key_specs.push_back(keySpec(spec, l.keywords));
    } else if (number(&entry.elements[3]) > 0) {
      // Before key specs (Redis < 7): first, last, step as one range.
      int16_t first = number(&entry.elements[3]), last = number(&entry.elements[4]);
      l.key_specs.push_back({BeginSearch::kIndex, first, nullptr, 0, FindKeys::kRange,
                             static_cast<int16_t>(last < 0 ? last : last - first), number(&entry.elements[5]), 0,
                             0, 0, 0});
    }
    uint32_t flags = commandFlags(entry.elements[2]);
    bool blocking = (flags & kFlagBlocking) != 0;
    l.spec = CommandSpec{l.name.c_str(),
                         "module",
                         static_cast<int32_t>(entry.elements[1].integer),
                         flags,
                         l.key_specs.empty() ? nullptr : l.key_specs.data(),
                         static_cast<uint8_t>(std::min<size_t>(l.key_specs.size(), 255)),
                         nullptr,
                         0,
                         RequestTip::kDefault,
                         ResponseTip::kDefault,
                         false,
                         blocking ? Policy::kStateful : Policy::kForward,
                         blocking ? Handler::kBlocking : Handler::kForward,
                         Merge::kNone,
                         proxyFlags(flags)};
    learned.by_name_[l.name] = &l;
  }
  return learned;
}

const CommandSpec* LearnedCommands::find(std::string_view name) const {
  if (by_name_.empty()) return nullptr;
  auto it = by_name_.find(common::toLower(name));
  return it == by_name_.end() ? nullptr : &it->second->spec;
}

std::vector<std::string> LearnedCommands::names() const {
  std::vector<std::string> out;
  for (const Learned& l : commands_) out.push_back(l.name);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace slotgate::command
