#include "proxy/route/plan.h"

#include <algorithm>

#include "proxy/command/key_slot.h"
#include "proxy/resp/errors.h"
#include "proxy/resp/writer.h"

namespace slotgate::route {
namespace {

using command::Policy;

std::string displayName(const command::CommandSpec& spec) {
  std::string name = spec.name;
  std::replace(name.begin(), name.end(), '|', ' ');
  return name;
}

Plan reject(std::string reply) {
  Plan p;
  p.kind = Plan::Kind::kReject;
  p.reply = std::move(reply);
  return p;
}

// All keys in one slot, or a CROSSSLOT rejection; Redis refuses keys of two slots even when one
// node owns both.
Plan bySlot(std::span<const std::string_view> argv, std::span<const uint32_t> keys) {
  uint16_t slot = command::keyHashSlot(argv[keys[0]]);
  for (size_t i = 1; i < keys.size(); ++i) {
    if (command::keyHashSlot(argv[keys[i]]) != slot) return reject(std::string(resp::err::kCrossSlot));
  }
  Plan p;
  p.kind = Plan::Kind::kSlot;
  p.slot = slot;
  return p;
}

}  // namespace

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
    case Policy::kAllPrimaries:
      return reject(resp::errorReply(fmt::runtime(resp::err::kNotYetSupported), displayName(spec)));
    case Policy::kSplit:
      // Keys of one slot need no split: the node runs the command as it is.
      if (key_positions.empty()) break;
      p = bySlot(argv, key_positions);
      if (p.kind == Plan::Kind::kReject) {
        return reject(resp::errorReply(fmt::runtime(resp::err::kNotYetSupported),
                                       displayName(spec) + " over keys of several slots"));
      }
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
