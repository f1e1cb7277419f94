// Time as the stateful core sees it: the current loop time, delayed calls and calls on the next
// loop turn. The worker's EventLoop implements it; unit tests use a clock they advance by hand.
#pragma once

#include <cstdint>
#include <functional>

namespace slotgate::common {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds on a monotonic clock (the loop's cached time).
  virtual uint64_t nowMs() const = 0;
  // Runs `fn` once after `ms` milliseconds, on this clock's thread.
  virtual void after(uint64_t ms, std::function<void()> fn) = 0;
  // Runs `fn` soon, on this clock's thread (never inside the caller's stack).
  virtual void post(std::function<void()> fn) = 0;
};

}  // namespace slotgate::common
