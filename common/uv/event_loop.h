// One libuv loop and what every owner of handles on it needs: a thread-safe post() to run work on
// the loop's thread, one-shot delayed calls, and the once-per-loop-turn flush of outgoing bytes
// (connections ask for a flush; all of them are written after the turn's reads are handled).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include <uv.h>

#include "common/buffer.h"
#include "common/clock.h"
#include "common/uv/uring_transport.h"

namespace slotgate::common::uv {

class TcpConnection;

class EventLoop : public common::Clock {
 public:
  EventLoop();
  ~EventLoop() override;
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  uv_loop_t* raw() { return &loop_; }

  // Runs until stop(); closes every remaining handle before returning.
  void run();
  // Thread-safe: `fn` runs on the loop thread soon.
  void post(std::function<void()> fn) override;
  // Thread-safe: ends run() once the current turn is done.
  void stop();
  // Loop thread only: runs `fn` once after `ms` milliseconds (not if the loop stops first).
  void after(uint64_t ms, std::function<void()> fn) override;
  uint64_t nowMs() const override { return uv_now(const_cast<uv_loop_t*>(&loop_)); }

  // Loop thread only: where sockets with nothing pending read into. A connection keeps bytes of
  // its own only while a request or reply is incomplete, so idle connections hold no buffer.
  Buffer& readScratch() { return read_scratch_; }

  // Loop thread only: flush `conn` at the end of this loop turn.
  void scheduleFlush(TcpConnection* conn);
  void cancelFlush(TcpConnection* conn);

  // Before any connection is made on this loop: how its sockets read and write. kAuto is libuv
  // (io_uring measured no better here: see bench/README.md); kUring falls back to libuv, with
  // the reason in `why`, where the kernel or the build cannot. Returns the transport in use.
  Transport useTransport(Transport wanted, std::string* why);
  UringTransport* uring() { return uring_.get(); }
  // Loop thread only: the ring has requests to submit at the end of this turn.
  void wantSubmit();

 private:
  // Closes the loop's own handles and pending delayed calls and runs their close callbacks.
  void closeOwnHandles();
  static void onAsync(uv_async_t* handle);
  static void onCheck(uv_check_t* handle);
  static void onIdle(uv_idle_t* handle);
  void drainPosted();
  void flushScheduled();

  struct DelayedCall;

  uv_loop_t loop_;
  uv_async_t async_;
  uv_check_t check_;
  uv_idle_t idle_;  // keeps poll from blocking while flushes are pending
  std::mutex mutex_;
  std::vector<std::function<void()>> posted_;
  bool stopping_ = false;
  bool closed_ = false;  // closeOwnHandles() ran
  std::vector<TcpConnection*> to_flush_;
  std::unique_ptr<UringTransport> uring_;
  bool submit_pending_ = false;
  std::unordered_set<DelayedCall*> delayed_;
  Buffer read_scratch_;
};

}  // namespace slotgate::common::uv
