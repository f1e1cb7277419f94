// Calls a function when the process receives one of the given signals (on the loop's thread).
#pragma once

#include <functional>
#include <vector>

#include <uv.h>

namespace slotgate::common::uv {

class EventLoop;

class SignalWatcher {
 public:
  SignalWatcher(EventLoop& loop, std::vector<int> signals, std::function<void(int)> fn);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  std::vector<uv_signal_t*> handles_;
  std::function<void(int)> fn_;
};

}  // namespace slotgate::common::uv
