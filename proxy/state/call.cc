#include "proxy/state/call.h"

#include <vector>

#include "proxy/command/key_slot.h"
#include "proxy/resp/writer.h"

namespace slotgate::state {

std::string Call::encoded() const {
  if (!raw.empty()) return std::string(raw);
  std::string out;
  resp::appendCommand(out, std::vector<std::string_view>(argv.begin(), argv.end()));
  return out;
}

int Call::keysSlot(bool* cross_slot) const {
  int slot = -1;
  *cross_slot = false;
  for (uint32_t position : key_positions) {
    int key_slot = command::keyHashSlot(argv[position]);
    if (slot >= 0 && key_slot != slot) *cross_slot = true;
    slot = key_slot;
  }
  return slot;
}

}  // namespace slotgate::state
