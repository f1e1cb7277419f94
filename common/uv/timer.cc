#include "common/uv/timer.h"

#include "common/uv/event_loop.h"

namespace slotgate::common::uv {

Timer::Timer(EventLoop& loop) : timer_(new uv_timer_t) {
  uv_timer_init(loop.raw(), timer_);
  timer_->data = this;
}

Timer::~Timer() {
  uv_timer_stop(timer_);
  timer_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(timer_),
           [](uv_handle_t* handle) { delete reinterpret_cast<uv_timer_t*>(handle); });
}

void Timer::start(uint64_t delay_ms, uint64_t repeat_ms, std::function<void()> fn) {
  fn_ = std::move(fn);
  uv_timer_start(
      timer_,
      [](uv_timer_t* handle) {
        if (auto* self = static_cast<Timer*>(handle->data)) self->fn_();
      },
      delay_ms, repeat_ms);
}

void Timer::stop() { uv_timer_stop(timer_); }

bool Timer::active() const { return uv_is_active(reinterpret_cast<const uv_handle_t*>(timer_)); }

}  // namespace slotgate::common::uv
