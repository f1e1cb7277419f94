#include "proxy/route/plan.h"

#include <algorithm>
#include <array>

#include "proxy/command/key_slot.h"
#include "proxy/resp/errors.h"
#include "proxy/resp/number.h"
#include "proxy/resp/writer.h"

namespace slotgate::route {
namespace {

using command::Policy;

Plan reject(std::string reply) {
  Plan p;
  p.kind = Plan::Kind::kReject;
  p.reply = std::move(reply);
  return p;
}

Plan slotPlan(uint16_t slot) {
  Plan p;
  p.kind = Plan::Kind::kSlot;
  p.slot = slot;
  return p;
}

// All keys in one slot, or a CROSSSLOT rejection; Redis refuses keys of two slots even when one
// node owns both.
Plan bySlot(std::span<const std::string_view> argv, std::span<const uint32_t> keys) {
  uint16_t slot = command::keyHashSlot(argv[keys[0]]);
  for (size_t i = 1; i < keys.size(); ++i) {
    if (command::keyHashSlot(argv[keys[i]]) != slot) return reject(std::string(resp::err::kCrossSlot));
  }
  return slotPlan(slot);
}

// Groups keys by slot, in order of each slot's first key.
Plan split(const command::CommandSpec& spec, std::span<const std::string_view> argv,
           std::span<const uint32_t> keys) {
  Plan p;
  p.key_step = spec.key_spec_count > 0 ? static_cast<uint16_t>(std::max<int16_t>(spec.key_specs[0].keystep, 1))
                                       : 1;
  // MSET a 1 b: Redis refuses an unpaired key before running anything.
  if (p.key_step > 1 && (argv.size() - 1) % p.key_step != 0) {
    return reject(resp::errorReply(fmt::runtime(resp::err::kWrongArity), displayName(spec)));
  }
  // Group index per slot, for this call only (keys of all 16384 slots in one command must not
  // cost a quadratic search); entries touched are reset before returning.
  thread_local std::array<int32_t, command::kSlotCount> group_of = [] {
    std::array<int32_t, command::kSlotCount> a;
    a.fill(-1);
    return a;
  }();
  for (uint32_t position : keys) {
    uint16_t slot = command::keyHashSlot(argv[position]);
    if (group_of[slot] < 0) {
      group_of[slot] = static_cast<int32_t>(p.groups.size());
      p.groups.push_back({slot, {}});
    }
    p.groups[static_cast<size_t>(group_of[slot])].key_positions.push_back(position);
  }
  for (const SlotGroup& group : p.groups) group_of[group.slot] = -1;
  if (p.groups.size() == 1) return slotPlan(p.groups[0].slot);  // no split needed
  p.kind = Plan::Kind::kSplit;
  return p;
}

}  // namespace

std::string displayName(const command::CommandSpec& spec) {
  std::string name = spec.name;
  std::replace(name.begin(), name.end(), '|', ' ');
  return name;
}

Plan plan(const command::CommandSpec& spec, std::span<const std::string_view> argv,
          std::span<const uint32_t> key_positions) {
  Plan p;
  switch (spec.policy) {
    case Policy::kLocal:
      p.kind = Plan::Kind::kLocal;
      return p;
    case Policy::kUnsupported:
      return reject(resp::errorReply(fmt::runtime(resp::err::kUnsupported), displayName(spec)));
    case Policy::kStateful:
      return reject(resp::errorReply(fmt::runtime(resp::err::kNotYetSupported), displayName(spec)));
    case Policy::kAllPrimaries:
      p.kind = Plan::Kind::kAllPrimaries;
      break;
    case Policy::kAllNodes:
      p.kind = Plan::Kind::kAllNodes;
      break;
    case Policy::kCursor:
      p.kind = Plan::Kind::kCursor;
      break;
    case Policy::kSlotArg: {
      int64_t slot = 0;
      if (!resp::parseInt(argv[2], &slot) || slot < 0 || slot >= command::kSlotCount) {
        // Any node gives Redis's own error text for a bad slot.
        p.kind = Plan::Kind::kAnyPrimary;
        break;
      }
      p = slotPlan(static_cast<uint16_t>(slot));
      break;
    }
    case Policy::kSplit:
      if (key_positions.empty()) {
        p.kind = Plan::Kind::kAnyPrimary;
        break;
      }
      p = split(spec, argv, key_positions);
      if (p.kind == Plan::Kind::kReject) return p;
      break;
    case Policy::kForward:
      if (key_positions.empty()) {
        p.kind = Plan::Kind::kAnyPrimary;
      } else {
        p = bySlot(argv, key_positions);
        if (p.kind == Plan::Kind::kReject) return p;
      }
      break;
  }
  p.readonly = (spec.flags & command::kFlagReadonly) != 0 && (spec.flags & command::kFlagWrite) == 0;
  return p;
}

}  // namespace slotgate::route
