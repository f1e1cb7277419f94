// A repeating or one-shot timer owned by one object. The uv_timer_t lives on the heap and is freed
// in its close callback, so the owner may be destroyed at any time after stop().
#pragma once

#include <cstdint>
#include <functional>

#include <uv.h>

namespace slotgate::common::uv {

class EventLoop;

class Timer {
 public:
  explicit Timer(EventLoop& loop);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // Calls `fn` after `delay_ms`, then every `repeat_ms` if non-zero. Restarting replaces the call.
  void start(uint64_t delay_ms, uint64_t repeat_ms, std::function<void()> fn);
  void stop();
  bool active() const;

 private:
  uv_timer_t* timer_;
  std::function<void()> fn_;
};

}  // namespace slotgate::common::uv
