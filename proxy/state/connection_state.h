// Who a client is and how it speaks: AUTH and users' permissions, HELLO (RESP2/3), its name and
// library (CLIENT), and the connection half of RESET.
#pragma once

#include <memory>
#include <string_view>

#include "common/clock.h"
#include "proxy/request/request.h"
#include "proxy/state/call.h"
#include "proxy/state/client_env.h"
#include "proxy/state/client_port.h"
#include "proxy/state/client_registry.h"
#include "proxy/state/parked_state.h"

namespace slotgate::state {

class ConnectionState {
 public:
  ConnectionState(const ClientEnv& env, common::Clock& clock, ClientPort& port,
                  std::shared_ptr<request::ReplyLink> link, std::shared_ptr<ClientInfo> info);

  int proto() const { return proto_; }
  bool authenticated() const { return authenticated_; }
  ClientInfo& info() { return *info_; }
  // False (and the client answered) if the client may not run `call` now.
  bool checkAccess(const Call& call);
  void auth(const Call& call);
  void hello(const Call& call);
  // A CLIENT subcommand (by its row's handler).
  void client(const Call& call);
  // CLIENT UNBLOCK id [TIMEOUT|ERROR]: the target's worker asks the node its blocking command
  // waits on to unblock it (by the node's id of the target's link); answers 1 or 0 as Redis.
  void unblock(const Call& call);
  // RESET: the default user, RESP2, no name.
  void reset();
  // Parking: what differs from a new connection's, out and back in.
  void park(ParkedState& out) const;
  void restore(const ParkedState& in);

 private:
  void replyNow(std::string_view reply) { port_.reply(reply); }
  bool loggedIn(const config::User* user, std::string_view password);

  const ClientEnv& env_;
  common::Clock& clock_;
  ClientPort& port_;
  std::shared_ptr<request::ReplyLink> link_;
  std::shared_ptr<ClientInfo> info_;
  int proto_ = 2;
  bool authenticated_;
  std::shared_ptr<const config::User> user_;  // null: the default user (no users configured)
};

}  // namespace slotgate::state
