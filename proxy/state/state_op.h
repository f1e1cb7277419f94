// What the client state does with a command. Today read from the table rows' identity (pointers
// looked up once); once every row names its handler, this becomes a switch on it.
#pragma once

#include <cstdint>

#include "proxy/command/command_spec.h"

namespace slotgate::state {

enum class StateOp : uint8_t {
  kOther,  // not the state's own: forwarded (blocking commands are told by their flag)
  kAuth,
  kHello,
  kClient,  // a CLIENT subcommand
  kReset,
  kQuit,
  kPing,
  kMulti,
  kExec,
  kDiscard,
  kWatch,
  kUnwatch,
  kWait,
  kSubscribe,
  kPsubscribe,
  kUnsubscribe,
  kPunsubscribe,
  kSsubscribe,
  kSunsubscribe,
  kXread,  // XREAD / XREADGROUP: blocking only with BLOCK
};

StateOp stateOpOf(const command::CommandSpec& spec);

inline bool isPubSubOp(StateOp op) { return op >= StateOp::kSubscribe && op <= StateOp::kSunsubscribe; }

}  // namespace slotgate::state
