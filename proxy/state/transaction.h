// A client's MULTI ... EXEC and WATCH. Commands are kept here, answered +QUEUED, and sent to the
// node as one MULTI ... EXEC request on the client's exclusive lease at EXEC, so a transaction
// never half-runs and never shares a connection. Like Redis, an error while queueing (unknown
// command, wrong arity, a key in another slot) makes EXEC answer EXECABORT. WATCH runs on the
// lease too, and is known to hold only while the lease keeps the link it was set on.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "proxy/backend/node_link.h"
#include "proxy/request/dispatcher.h"
#include "proxy/state/call.h"
#include "proxy/state/client_port.h"
#include "proxy/state/client_registry.h"
#include "proxy/state/exclusive_commands.h"

namespace slotgate::state {

class Transaction {
 public:
  Transaction(ClientPort& port, ExclusiveCommands& exclusive, ClientInfo& info)
      : port_(port), exclusive_(exclusive), info_(info) {}

  bool active() const { return active_; }  // between MULTI and EXEC/DISCARD
  bool watching() const { return watching_; }
  // A command refused while queueing (unknown, wrong arity, no permission): EXEC will abort.
  void refuse() {
    if (active_) dirty_ = true;
  }
  void multi();
  // A command between MULTI and EXEC.
  void queue(const Call& call);
  void discard();
  void exec(request::Dispatcher& dispatcher, const command::CommandSpec* spec, int proto);
  void watch(const Call& call, request::Dispatcher& dispatcher);
  void unwatch();
  // The WATCH that ran alone was answered.
  void watchAnswered(std::string_view reply);
  // RESET.
  void reset();

 private:
  // The lease's link, if the WATCH in force still lives on it.
  backend::NodeLink* watchLink() const;
  void clear();
  void clearWatch();
  // False if `key_slot` differs from the transaction's slot.
  bool acceptSlot(int key_slot);

  ClientPort& port_;
  ExclusiveCommands& exclusive_;
  ClientInfo& info_;
  bool active_ = false;
  bool dirty_ = false;                 // a queueing error: EXEC aborts
  bool writes_ = false;                // a queued command may write (WAIT then asks the lease)
  int slot_ = -1;                      // the slot of the first keyed command (or watched key); -1: none yet
  std::vector<std::string> commands_;  // RESP bytes, in order
  bool watching_ = false;
  int watch_slot_ = -1;
  int watch_pending_slot_ = -1;  // the slot of the WATCH in flight
  uint64_t watch_mark_ = 0;      // the lease's link the WATCH was set on (ExclusiveLease::mark)
};

}  // namespace slotgate::state
