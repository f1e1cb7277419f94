#include "common/uv/event_loop.h"

#include <algorithm>
#include <unordered_set>

#include "common/uv/tcp_connection.h"

namespace slotgate::common::uv {
namespace {}  // namespace

struct EventLoop::DelayedCall {
  uv_timer_t timer;
  std::function<void()> fn;
  EventLoop* loop;
};

EventLoop::EventLoop() {
  uv_loop_init(&loop_);
  uv_async_init(&loop_, &async_, &EventLoop::onAsync);
  async_.data = this;
  uv_check_init(&loop_, &check_);
  check_.data = this;
  uv_check_start(&check_, &EventLoop::onCheck);
  uv_unref(reinterpret_cast<uv_handle_t*>(&check_));
  uv_idle_init(&loop_, &idle_);
  idle_.data = this;
}

EventLoop::~EventLoop() {
  // A loop that never ran (start-up failed) still holds its own handles: close them first, or the
  // loop cannot be closed and its memory is never given back.
  if (!closed_) closeOwnHandles();
  uring_.reset();
  uv_loop_close(&loop_);
}

void EventLoop::run() {
  uv_run(&loop_, UV_RUN_DEFAULT);
  closeOwnHandles();
}

void EventLoop::closeOwnHandles() {
  // Owners released their handles before stop(); close the loop's own and the pending delayed
  // calls, then let every close callback run.
  closed_ = true;
  // Cancels of the connections closed so far are queued: wait for their completions.
  if (uring_) uring_->drain();
  for (DelayedCall* call : delayed_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&call->timer),
             [](uv_handle_t* h) { delete reinterpret_cast<DelayedCall*>(h); });
  }
  delayed_.clear();
  uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&check_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&idle_), nullptr);
  uv_run(&loop_, UV_RUN_DEFAULT);
}

void EventLoop::post(std::function<void()> fn) {
  {
    std::lock_guard lock(mutex_);
    posted_.push_back(std::move(fn));
  }
  uv_async_send(&async_);
}

void EventLoop::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  uv_async_send(&async_);
}

void EventLoop::onAsync(uv_async_t* handle) { static_cast<EventLoop*>(handle->data)->drainPosted(); }

void EventLoop::drainPosted() {
  std::vector<std::function<void()>> work;
  bool stopping;
  {
    std::lock_guard lock(mutex_);
    work.swap(posted_);
    stopping = stopping_;
  }
  for (auto& fn : work) fn();
  if (stopping) uv_stop(&loop_);
}

void EventLoop::after(uint64_t ms, std::function<void()> fn) {
  auto* call = new DelayedCall{{}, std::move(fn), this};
  uv_timer_init(&loop_, &call->timer);
  delayed_.insert(call);
  uv_timer_start(
      &call->timer,
      [](uv_timer_t* timer) {
        auto* c = reinterpret_cast<DelayedCall*>(timer);
        c->loop->delayed_.erase(c);
        auto fn = std::move(c->fn);
        uv_close(reinterpret_cast<uv_handle_t*>(timer),
                 [](uv_handle_t* h) { delete reinterpret_cast<DelayedCall*>(h); });
        fn();
      },
      ms, 0);
}

void EventLoop::scheduleFlush(TcpConnection* conn) {
  if (to_flush_.empty()) uv_idle_start(&idle_, &EventLoop::onIdle);
  to_flush_.push_back(conn);
}

void EventLoop::cancelFlush(TcpConnection* conn) { std::erase(to_flush_, conn); }

Transport EventLoop::useTransport(Transport wanted, std::string* why) {
  if (wanted != Transport::kUring) return Transport::kLibuv;
  uring_ = UringTransport::create(*this, why);
  return uring_ ? Transport::kUring : Transport::kLibuv;
}

void EventLoop::wantSubmit() {
  if (submit_pending_) return;
  submit_pending_ = true;
  // Queued from a timer or callback before poll: keep poll from blocking until the check phase.
  if (to_flush_.empty()) uv_idle_start(&idle_, &EventLoop::onIdle);
}

void EventLoop::onIdle(uv_idle_t*) {}

void EventLoop::onCheck(uv_check_t* handle) { static_cast<EventLoop*>(handle->data)->flushScheduled(); }

void EventLoop::flushScheduled() {
  // A flush can schedule more (a write error closes a session that answers others): repeat. With
  // a ring, the turn's sends and receives leave in one submit, whose completions can bring more;
  // a few rounds here, the rest next turn (the idle handle keeps poll from blocking).
  for (int round = 0; round < 4; ++round) {
    while (!to_flush_.empty()) {
      std::vector<TcpConnection*> batch;
      batch.swap(to_flush_);
      for (TcpConnection* conn : batch) conn->flushNow();
    }
    if (!uring_ || !submit_pending_) break;
    submit_pending_ = false;
    uring_->submit();
    if (to_flush_.empty() && !submit_pending_) break;
  }
  if (to_flush_.empty() && !submit_pending_) uv_idle_stop(&idle_);
}

}  // namespace slotgate::common::uv
