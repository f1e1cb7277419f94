// A client's MULTI ... EXEC in the making. Commands are kept here, answered +QUEUED, and sent to
// the node as one MULTI ... EXEC batch on the session's dedicated connection at EXEC, so a
// transaction never half-runs and never shares a connection. Like Redis, an error while queueing
// (unknown command, wrong arity, a key in another slot) makes EXEC answer EXECABORT.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace slotgate::session {

struct Transaction {
  bool active = false;  // between MULTI and EXEC/DISCARD
  bool dirty = false;   // a queueing error: EXEC aborts
  int slot = -1;        // the slot of the first keyed command (or watched key); -1: none yet
  std::vector<std::string> commands;  // RESP bytes, in order

  // WATCH state lives on the dedicated connection; it survives EXEC's batch only until EXEC.
  bool watching = false;
  int watch_slot = -1;

  void reset() {
    active = false;
    dirty = false;
    slot = watching ? watch_slot : -1;
    commands.clear();
  }
  void resetWatch() {
    watching = false;
    watch_slot = -1;
    if (!active) slot = -1;
  }
  // False (and dirty) if `key_slot` differs from the transaction's slot.
  bool acceptSlot(int key_slot) {
    if (key_slot < 0) return true;
    if (slot < 0) slot = key_slot;
    return slot == key_slot;
  }
};

}  // namespace slotgate::session
