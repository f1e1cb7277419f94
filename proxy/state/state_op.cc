#include "proxy/state/state_op.h"

#include <array>
#include <utility>

#include "proxy/command/command_table.h"

namespace slotgate::state {
namespace {

struct Known {
  std::array<std::pair<const command::CommandSpec*, StateOp>, 19> rows;
  const command::CommandSpec* client = nullptr;
};

const Known& known() {
  static const Known table = [] {
    using command::findCommand;
    Known k{{{{findCommand("auth"), StateOp::kAuth},
              {findCommand("hello"), StateOp::kHello},
              {findCommand("reset"), StateOp::kReset},
              {findCommand("quit"), StateOp::kQuit},
              {findCommand("ping"), StateOp::kPing},
              {findCommand("multi"), StateOp::kMulti},
              {findCommand("exec"), StateOp::kExec},
              {findCommand("discard"), StateOp::kDiscard},
              {findCommand("watch"), StateOp::kWatch},
              {findCommand("unwatch"), StateOp::kUnwatch},
              {findCommand("wait"), StateOp::kWait},
              {findCommand("subscribe"), StateOp::kSubscribe},
              {findCommand("psubscribe"), StateOp::kPsubscribe},
              {findCommand("unsubscribe"), StateOp::kUnsubscribe},
              {findCommand("punsubscribe"), StateOp::kPunsubscribe},
              {findCommand("ssubscribe"), StateOp::kSsubscribe},
              {findCommand("sunsubscribe"), StateOp::kSunsubscribe},
              {findCommand("xread"), StateOp::kXread},
              {findCommand("xreadgroup"), StateOp::kXread}}},
            findCommand("client")};
    return k;
  }();
  return table;
}

}  // namespace

StateOp stateOpOf(const command::CommandSpec& spec) {
  const Known& k = known();
  for (const auto& [row, op] : k.rows) {
    if (row == &spec) return op;
  }
  if (k.client && &spec >= k.client->subcommands && &spec < k.client->subcommands + k.client->subcommand_count) {
    return StateOp::kClient;
  }
  return StateOp::kOther;
}

}  // namespace slotgate::state
