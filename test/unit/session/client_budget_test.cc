// ClientBudget: the shared max_clients count and the buffered-memory total.
#include "proxy/session/client_budget.h"

#include <catch2/catch.hpp>

#include <thread>
#include <vector>

using slotgate::session::ClientBudget;

TEST_CASE("max_clients admits exactly that many until one leaves", "[session]") {
  ClientBudget budget(3, 0);
  CHECK(budget.tryAdmit());
  CHECK(budget.tryAdmit());
  CHECK(budget.tryAdmit());
  CHECK_FALSE(budget.tryAdmit());
  CHECK(budget.clients() == 3);
  budget.release();
  CHECK(budget.tryAdmit());
  CHECK_FALSE(budget.tryAdmit());
}

TEST_CASE("admission is exact across threads", "[session]") {
  ClientBudget budget(1000, 0);
  std::vector<std::thread> threads;
  std::vector<int> admitted(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) admitted[t] += budget.tryAdmit() ? 1 : 0;
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(admitted[0] + admitted[1] + admitted[2] + admitted[3] == 1000);
  CHECK(budget.clients() == 1000);
}

TEST_CASE("maxmemory: over the budget only above it, never with 0", "[session]") {
  ClientBudget off(10, 0);
  off.addBuffered(int64_t{1} << 40);
  CHECK_FALSE(off.overMemory());

  ClientBudget budget(10, 1000);
  budget.addBuffered(600);
  budget.addBuffered(400);
  CHECK_FALSE(budget.overMemory());  // at the limit is not over it
  budget.addBuffered(1);
  CHECK(budget.overMemory());
  budget.addBuffered(-501);  // a worker reports its clients drained
  CHECK_FALSE(budget.overMemory());
  CHECK(budget.buffered() == 500);
}
