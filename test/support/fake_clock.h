// A Clock for unit tests: time moves only when the test says so, and delayed calls run then, in
// the order they fall due.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

#include "common/clock.h"

namespace slotgate::test {

class FakeClock : public common::Clock {
 public:
  uint64_t nowMs() const override { return now_; }
  void after(uint64_t ms, std::function<void()> fn) override {
    calls_.push_back({now_ + ms, next_++, std::move(fn)});
  }
  void post(std::function<void()> fn) override { after(0, std::move(fn)); }

  // Moves time on by `ms`, running every call due by then (calls they add included).
  void advance(uint64_t ms) {
    uint64_t end = now_ + ms;
    while (true) {
      auto due = std::min_element(calls_.begin(), calls_.end(), [](const Call& a, const Call& b) {
        return a.at != b.at ? a.at < b.at : a.order < b.order;
      });
      if (due == calls_.end() || due->at > end) break;
      Call call = std::move(*due);
      calls_.erase(due);
      now_ = std::max(now_, call.at);
      call.fn();
    }
    now_ = end;
  }
  // Runs what is due now (posted calls).
  void runDue() { advance(0); }
  size_t scheduled() const { return calls_.size(); }

 private:
  struct Call {
    uint64_t at;
    uint64_t order;
    std::function<void()> fn;
  };
  uint64_t now_ = 1000;
  uint64_t next_ = 0;
  std::vector<Call> calls_;
};

}  // namespace slotgate::test
