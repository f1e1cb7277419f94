#include "common/uv/signal_watcher.h"

#include "common/uv/event_loop.h"

namespace slotgate::common::uv {

SignalWatcher::SignalWatcher(EventLoop& loop, std::vector<int> signals, std::function<void(int)> fn)
    : fn_(std::move(fn)) {
  for (int signum : signals) {
    auto* handle = new uv_signal_t;
    uv_signal_init(loop.raw(), handle);
    handle->data = this;
    uv_signal_start(
        handle,
        [](uv_signal_t* h, int sig) {
          if (auto* self = static_cast<SignalWatcher*>(h->data)) self->fn_(sig);
        },
        signum);
    uv_unref(reinterpret_cast<uv_handle_t*>(handle));
    handles_.push_back(handle);
  }
}

SignalWatcher::~SignalWatcher() {
  for (auto* handle : handles_) {
    handle->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(handle),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_signal_t*>(h); });
  }
}

}  // namespace slotgate::common::uv
