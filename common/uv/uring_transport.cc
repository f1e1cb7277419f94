#include "common/uv/uring_transport.h"

#include <cerrno>
#include <cstring>

#include <uv.h>

#include "common/uv/event_loop.h"
#include "common/uv/tcp_connection.h"

#if SLOTGATE_HAVE_URING
#include <liburing.h>
#include <sys/mman.h>
#endif

namespace slotgate::common::uv {

bool parseTransport(const std::string& name, Transport* out) {
  if (name == "auto") {
    *out = Transport::kAuto;
  } else if (name == "libuv") {
    *out = Transport::kLibuv;
  } else if (name == "uring") {
    *out = Transport::kUring;
  } else {
    return false;
  }
  return true;
}

const char* transportName(Transport t) {
  switch (t) {
    case Transport::kAuto:
      return "auto";
    case Transport::kLibuv:
      return "libuv";
    case Transport::kUring:
      return "uring";
  }
  return "?";
}

#if SLOTGATE_HAVE_URING

namespace {

constexpr unsigned kEntries = 1024;      // submission queue; completions get 4x
constexpr unsigned kBuffers = 256;       // provided receive buffers shared by the loop's sockets
constexpr unsigned kBufferSize = 16384;  // one receive's most; bigger messages take several
constexpr uint16_t kGroup = 0;
constexpr uint64_t kReceive = 1;  // user_data = connection pointer | kind (pointers are 8-aligned)
constexpr uint64_t kSend = 2;
constexpr uint64_t kKindMask = 7;

uint64_t tag(TcpConnection* conn, uint64_t kind) { return reinterpret_cast<uint64_t>(conn) | kind; }

}  // namespace

struct UringTransport::Ring {
  io_uring ring{};
  io_uring_buf_ring* buffers = nullptr;  // the ring of buffer descriptors
  char* memory = nullptr;                // kBuffers * kBufferSize
  size_t ring_bytes = 0;
  uv_poll_t poll{};
  bool ring_ready = false;
  bool polling = false;
};

UringTransport::UringTransport(EventLoop& loop) : loop_(loop), ring_(std::make_unique<Ring>()) {}

std::unique_ptr<UringTransport> UringTransport::create(EventLoop& loop, std::string* why) {
  std::unique_ptr<UringTransport> t(new UringTransport(loop));
  Ring& r = *t->ring_;
  io_uring_params params{};
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
  params.cq_entries = kEntries * 4;
  int rc = io_uring_queue_init_params(kEntries, &r.ring, &params);
  if (rc < 0) {
    params = {};
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = kEntries * 4;
    rc = io_uring_queue_init_params(kEntries, &r.ring, &params);
  }
  if (rc < 0) {
    *why = std::string("io_uring_setup: ") + std::strerror(-rc);
    return nullptr;
  }
  r.ring_ready = true;
  if (!(params.features & IORING_FEAT_NODROP) || !(params.features & IORING_FEAT_FAST_POLL)) {
    *why = "io_uring lacks NODROP or FAST_POLL (kernel older than 5.7)";
    return nullptr;
  }
  r.ring_bytes = kBuffers * sizeof(io_uring_buf);
  void* br = mmap(nullptr, r.ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  void* mem =
      mmap(nullptr, size_t{kBuffers} * kBufferSize, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (br == MAP_FAILED || mem == MAP_FAILED) {
    if (br != MAP_FAILED) munmap(br, r.ring_bytes);
    if (mem != MAP_FAILED) munmap(mem, size_t{kBuffers} * kBufferSize);
    *why = "cannot map the receive buffers";
    return nullptr;
  }
  r.buffers = static_cast<io_uring_buf_ring*>(br);
  r.memory = static_cast<char*>(mem);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(br);
  reg.ring_entries = kBuffers;
  reg.bgid = kGroup;
  rc = io_uring_register_buf_ring(&r.ring, &reg, 0);
  if (rc < 0) {
    *why = std::string("buffer rings (kernel 5.19+): ") + std::strerror(-rc);
    return nullptr;
  }
  io_uring_buf_ring_init(r.buffers);
  int mask = io_uring_buf_ring_mask(kBuffers);
  for (unsigned i = 0; i < kBuffers; ++i) {
    io_uring_buf_ring_add(r.buffers, r.memory + size_t{i} * kBufferSize, kBufferSize, static_cast<uint16_t>(i),
                          mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(r.buffers, kBuffers);
  // Multishot receive is 6.0+: probe it with a receive on a socket pair, cancelled at once.
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pair) == 0) {
    io_uring_sqe* sqe = io_uring_get_sqe(&r.ring);
    io_uring_prep_recv_multishot(sqe, pair[0], nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = kGroup;
    io_uring_sqe_set_data64(sqe, 1);
    ::write(pair[1], "x", 1);
    io_uring_submit_and_wait(&r.ring, 1);
    io_uring_cqe* cqe = nullptr;
    bool ok = io_uring_peek_cqe(&r.ring, &cqe) == 0 && cqe->res == 1 && (cqe->flags & IORING_CQE_F_MORE);
    if (cqe) {
      if (cqe->flags & IORING_CQE_F_BUFFER)
        t->giveBack(static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT));
      io_uring_cqe_seen(&r.ring, cqe);
    }
    ::close(pair[0]);
    ::close(pair[1]);
    // The closed socket ends the receive; collect whatever it reports.
    __kernel_timespec ts{0, 100 * 1000 * 1000};
    while (io_uring_wait_cqe_timeout(&r.ring, &cqe, &ts) == 0) {
      if (cqe->flags & IORING_CQE_F_BUFFER)
        t->giveBack(static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT));
      bool last = !(cqe->flags & IORING_CQE_F_MORE);
      io_uring_cqe_seen(&r.ring, cqe);
      if (last) break;
    }
    if (!ok) {
      *why = "multishot receive with provided buffers is not supported (kernel 6.0+)";
      return nullptr;
    }
  }
  t->startPolling();
  return t;
}

UringTransport::~UringTransport() {
  Ring& r = *ring_;
  if (r.ring_ready) io_uring_queue_exit(&r.ring);
  if (r.buffers) munmap(r.buffers, r.ring_bytes);
  if (r.memory) munmap(r.memory, size_t{kBuffers} * kBufferSize);
}

void UringTransport::startPolling() {
  Ring& r = *ring_;
  uv_poll_init(loop_.raw(), &r.poll, r.ring.ring_fd);
  r.poll.data = this;
  r.polling = true;
  uv_poll_start(&r.poll, UV_READABLE, [](uv_poll_t* handle, int, int) {
    auto* self = static_cast<UringTransport*>(handle->data);
    self->reap();
  });
  // The ring alone must not keep the loop running.
  uv_unref(reinterpret_cast<uv_handle_t*>(&r.poll));
}

void UringTransport::stopPolling() {
  Ring& r = *ring_;
  if (!r.polling) return;
  r.polling = false;
  uv_close(reinterpret_cast<uv_handle_t*>(&r.poll), nullptr);
}

static io_uring_sqe* nextSqe(io_uring* ring) {
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  if (!sqe) {
    io_uring_submit(ring);  // the queue is full: send what it holds, completions come later
    sqe = io_uring_get_sqe(ring);
  }
  return sqe;
}

void UringTransport::receive(int fd, TcpConnection* conn) {
  io_uring_sqe* sqe = nextSqe(&ring_->ring);
  io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = kGroup;
  io_uring_sqe_set_data64(sqe, tag(conn, kReceive));
  ++in_flight_;
  loop_.wantSubmit();
}

void UringTransport::send(int fd, TcpConnection* conn, const char* data, size_t len) {
  io_uring_sqe* sqe = nextSqe(&ring_->ring);
  io_uring_prep_send(sqe, fd, data, len, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, tag(conn, kSend));
  ++in_flight_;
  loop_.wantSubmit();
}

void UringTransport::cancelKind(TcpConnection* conn, uint64_t kind) {
  io_uring_sqe* sqe = nextSqe(&ring_->ring);
  io_uring_prep_cancel64(sqe, tag(conn, kind), IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data64(sqe, 0);  // the cancel's own completion says nothing we need
  loop_.wantSubmit();
}

void UringTransport::cancelReceive(TcpConnection* conn) { cancelKind(conn, kReceive); }

void UringTransport::cancel(TcpConnection* conn) {
  cancelKind(conn, kReceive);
  cancelKind(conn, kSend);
}

void UringTransport::submit() {
  if (io_uring_sq_ready(&ring_->ring) > 0) io_uring_submit(&ring_->ring);
  reap();
}

void UringTransport::reap() {
  if (reaping_) return;  // a handler that submits from a completion: the outer loop reaps the rest
  reaping_ = true;
  io_uring* ring = &ring_->ring;
  io_uring_cqe* cqes[64];
  for (;;) {
    unsigned n = io_uring_peek_batch_cqe(ring, cqes, 64);
    if (n == 0) break;
    for (unsigned i = 0; i < n; ++i) {
      uint64_t data = cqes[i]->user_data;
      int res = cqes[i]->res;
      uint32_t flags = cqes[i]->flags;
      // Mark it seen before the handler runs: the handler may queue more and the ring needs room.
      io_uring_cqe_seen(ring, cqes[i]);
      complete(data, res, flags);
    }
  }
  reaping_ = false;
}

void UringTransport::giveBack(uint16_t buffer_id) {
  Ring& r = *ring_;
  io_uring_buf_ring_add(r.buffers, r.memory + size_t{buffer_id} * kBufferSize, kBufferSize, buffer_id,
                        io_uring_buf_ring_mask(kBuffers), 0);
  io_uring_buf_ring_advance(r.buffers, 1);
}

void UringTransport::complete(uint64_t user_data, int res, uint32_t flags) {
  if (user_data == 0) return;
  auto* conn = reinterpret_cast<TcpConnection*>(user_data & ~kKindMask);
  if ((user_data & kKindMask) == kSend) {
    --in_flight_;
    conn->onUringSent(res);
    return;
  }
  bool last = !(flags & IORING_CQE_F_MORE);
  if (last) --in_flight_;
  if (res > 0 && (flags & IORING_CQE_F_BUFFER)) {
    auto id = static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
    conn->onUringData(ring_->memory + size_t{id} * kBufferSize, static_cast<size_t>(res));
    giveBack(id);
  }
  if (last) conn->onUringReceiveEnded(res > 0 ? -ENOBUFS : res);
}

void UringTransport::drain() {
  io_uring* ring = &ring_->ring;
  if (in_flight_ > 0) {
    // Whatever is still in the ring (a connection its owner never closed) ends now.
    io_uring_sqe* sqe = nextSqe(ring);
    io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
    io_uring_sqe_set_data64(sqe, 0);
  }
  for (int round = 0; in_flight_ > 0 && round < 100; ++round) {
    io_uring_submit(ring);
    io_uring_cqe* cqe = nullptr;
    __kernel_timespec ts{0, 10 * 1000 * 1000};
    io_uring_wait_cqe_timeout(ring, &cqe, &ts);
    reap();
  }
  stopPolling();
}

#else  // no liburing in this build

struct UringTransport::Ring {};

UringTransport::UringTransport(EventLoop& loop) : loop_(loop) {}
UringTransport::~UringTransport() = default;
std::unique_ptr<UringTransport> UringTransport::create(EventLoop&, std::string* why) {
  *why = "this build has no io_uring support (liburing-dev was missing)";
  return nullptr;
}
void UringTransport::receive(int, TcpConnection*) {}
void UringTransport::send(int, TcpConnection*, const char*, size_t) {}
void UringTransport::cancel(TcpConnection*) {}
void UringTransport::cancelReceive(TcpConnection*) {}
void UringTransport::cancelKind(TcpConnection*, uint64_t) {}
void UringTransport::submit() {}
void UringTransport::drain() {}
void UringTransport::reap() {}
void UringTransport::complete(uint64_t, int, uint32_t) {}
void UringTransport::giveBack(uint16_t) {}
void UringTransport::startPolling() {}
void UringTransport::stopPolling() {}

#endif

}  // namespace slotgate::common::uv
