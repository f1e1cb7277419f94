#include "common/uv/socket_parking.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <array>

#include "common/uv/event_loop.h"

namespace slotgate::common::uv {
namespace {

constexpr int kEventsPerWait = 64;

}  // namespace

SocketParking::SocketParking(EventLoop& loop, Wake wake) : wake_(std::move(wake)) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return;
  auto* poll = new uv_poll_t;
  if (uv_poll_init(loop.raw(), poll, epoll_fd_) != 0) {
    delete poll;
    return;
  }
  poll->data = this;
  poll_ = poll;
  uv_poll_start(poll_, UV_READABLE, [](uv_poll_t* handle, int, int) {
    if (auto* self = static_cast<SocketParking*>(handle->data)) self->drain();
  });
  // Parked sockets alone do not keep the loop running.
  uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
}

SocketParking::~SocketParking() {
  if (poll_) {
    poll_->data = nullptr;
    uv_poll_stop(poll_);
    uv_close(reinterpret_cast<uv_handle_t*>(poll_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
  }
  // libuv's close of the poll handle takes the descriptor out of its own set at once.
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

bool SocketParking::park(int fd, uint64_t key) {
  if (!poll_) return false;
  epoll_event event{};
  // One shot: a socket reports once, however long its owner takes to adopt it.
  event.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
  event.data.u64 = key;
  return epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) == 0;
}

void SocketParking::unpark(int fd) {
  if (epoll_fd_ >= 0) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

void SocketParking::close(int fd) {
  unpark(fd);
  ::close(fd);
}

void SocketParking::drain() {
  std::array<epoll_event, kEventsPerWait> events{};
  for (;;) {
    int n = epoll_wait(epoll_fd_, events.data(), kEventsPerWait, 0);
    if (n <= 0) return;
    for (int i = 0; i < n; ++i) wake_(events[static_cast<size_t>(i)].data.u64);
    if (n < kEventsPerWait) return;
  }
}

}  // namespace slotgate::common::uv
