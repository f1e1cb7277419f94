// Parking a client's state and making it again: what differs from a new connection's (protocol,
// user, name and library, writes a WAIT counts) comes back as it was, over the same registry
// entry; a client in a transaction or WATCH cannot be parked.
#include <catch2/catch.hpp>

#include <string>

#include "common/digest.h"
#include "proxy/state/client_state.h"
#include "proxy/state/parked_state.h"
#include "test/support/client_state_harness.h"

using namespace slotgate;
using namespace slotgate::test;

namespace {

// Parks the harness's client state and makes a new one from what was kept, as a session does.
void parkAndRestore(ClientStateHarness& h) {
  REQUIRE(h.client->parkable());
  state::ParkedState parked;
  h.client->park(parked);
  REQUIRE(parked.info == h.info);
  h.client.reset();
  CHECK(h.info->control == nullptr);  // parked: CLIENT KILL goes to the worker
  h.client = std::make_unique<state::ClientState>(h.env, h.clock, h.port, h.link, parked.info);
  h.port.state = h.client.get();
  h.client->restore(parked);
  CHECK(h.info->control == h.client.get());
}

}  // namespace

TEST_CASE("a parked client comes back speaking RESP3, with its name and library") {
  ClientStateHarness h;
  h.run({"HELLO", "3", "SETNAME", "worker-7"});
  h.info->setLibName("lib");  // CLIENT SETINFO (newer than the table: the session takes it)
  CHECK(h.client->proto() == 3);
  parkAndRestore(h);
  CHECK(h.client->proto() == 3);
  CHECK(h.info->proto == 3);
  uint64_t name = h.run({"CLIENT", "GETNAME"});
  CHECK(h.port.replies[name] == "$8\r\nworker-7\r\n");
  CHECK(h.info->libName() == "lib");
  CHECK(&h.client->executor() == h.env.executors[1]);
}

TEST_CASE("a parked client stays logged in as its user, and one that was not stays out") {
  ClientStateHarness h;
  auto user = std::make_shared<config::User>();
  user->name = "app";
  user->password_sha256 = common::sha256("secret");
  h.env.users = {user};
  // Made after users are set: a client starts unauthenticated.
  h.client = std::make_unique<state::ClientState>(h.env, h.clock, h.port, h.link, h.info);
  h.port.state = h.client.get();
  CHECK_FALSE(h.client->connection().authenticated());
  parkAndRestore(h);
  CHECK_FALSE(h.client->connection().authenticated());
  uint64_t auth = h.run({"AUTH", "app", "secret"});
  CHECK(h.port.replies[auth] == "+OK\r\n");
  parkAndRestore(h);
  CHECK(h.client->connection().authenticated());
  CHECK(h.info->user == "app");
}

TEST_CASE("a client in a transaction or WATCH is not parked") {
  ClientStateHarness h;
  CHECK(h.client->parkable());
  h.run({"MULTI"});
  CHECK_FALSE(h.client->parkable());
  h.run({"DISCARD"});
  CHECK(h.client->parkable());
  h.run({"WATCH", "k"});
  CHECK_FALSE(h.client->parkable());  // running alone until the node answers
  h.links.lastExclusive()->reply("+OK\r\n");
  CHECK_FALSE(h.client->parkable());  // the WATCH lives on the lease's link
  h.run({"UNWATCH"});
}

TEST_CASE("a transaction's writes keep the lease through parking, for the next WAIT") {
  ClientStateHarness h;
  h.run({"MULTI"});
  h.run({"SET", "k", "v"});
  h.run({"EXEC"});
  FakeNodeLink* lease = h.links.lastExclusive();
  REQUIRE(lease);
  lease->reply("+OK\r\n");
  lease->reply("+QUEUED\r\n");
  lease->reply("*1\r\n+OK\r\n");
  REQUIRE(h.client->parkable());
  state::ParkedState parked;
  h.client->park(parked);
  CHECK(parked.lease != nullptr);
  h.client.reset();
  h.client = std::make_unique<state::ClientState>(h.env, h.clock, h.port, h.link, parked.info);
  h.port.state = h.client.get();
  h.client->restore(parked);
  size_t sent = lease->sent().size();
  h.run({"WAIT", "1", "0"});
  REQUIRE(lease->sent().size() == sent + 1);  // WAIT asks the link that carried the writes
  CHECK(lease->sent().back().bytes.find("WAIT") != std::string::npos);
  CHECK(h.links.exclusiveOpened() == 1);
}

TEST_CASE("a read-only transaction leaves no write for WAIT, and its idle lease is let go on parking") {
  ClientStateHarness h;
  h.run({"MULTI"});
  h.run({"GET", "k"});
  h.run({"EXEC"});
  FakeNodeLink* lease = h.links.lastExclusive();
  REQUIRE(lease);
  lease->reply("+OK\r\n");
  lease->reply("+QUEUED\r\n");
  lease->reply("*1\r\n$-1\r\n");
  state::ParkedState parked;
  h.client->park(parked);
  CHECK(parked.lease == nullptr);
}
