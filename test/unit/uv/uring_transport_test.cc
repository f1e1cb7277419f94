// The io_uring transport against the libuv one: the same echo over loopback through a listener
// and an outgoing connection, with a message larger than one receive buffer and than a socket's
// send buffer (short sends), a pause and resume of reading, and a close with output pending.
// Where the kernel or the build has no io_uring, the uring cases check the fallback instead.
#include <catch2/catch.hpp>

#include <memory>
#include <random>
#include <string>

#include "common/uv/event_loop.h"
#include "common/uv/tcp_connection.h"
#include "common/uv/tcp_listener.h"
#include "common/uv/timer.h"
#include "common/uv/uring_transport.h"

namespace slotgate::common::uv {
namespace {

// Echoes what it reads. Pauses reading once after the first read (resumes 20 ms later), and, as a
// session under backpressure does, whenever its output passes 256 KB while a write is in flight
// (resumes when drained).
struct EchoServer : TcpConnection::Handler {
  EventLoop& loop;
  TcpConnection* conn = nullptr;
  std::unique_ptr<Timer> resume;
  bool paused_once = false;
  bool backpressure = false;
  int pauses = 0;
  explicit EchoServer(EventLoop& l) : loop(l), resume(std::make_unique<Timer>(l)) {}
  void onRead(Buffer& in) override {
    conn->write(in.readable());
    in.consume(in.size());
    if (!paused_once) {
      paused_once = true;
      conn->stopReading();
      resume->start(20, 0, [this] { restart(); });
    } else if (!backpressure && conn->pendingOutput() > 256 * 1024) {
      backpressure = true;
      ++pauses;
      conn->stopReading();
    }
  }
  void onDrained() override {
    if (!backpressure || !conn) return;
    backpressure = false;
    restart();
  }
  void restart() {
    if (!conn) return;
    conn->startReading();
    // Bytes that arrived during the pause wait in input(): the handler's to take.
    Buffer& pending = conn->input();
    if (!pending.empty()) onRead(pending);
  }
  void onClosed(int) override { conn = nullptr; }
};

struct Client : TcpConnection::Handler {
  TcpConnection* conn = nullptr;
  std::string sent;
  std::string got;
  bool drained = false;
  int connected = 1;
  std::function<void()> done;
  void onConnected(int status) override {
    connected = status;
    if (status != 0) return done();
    conn->startReading();
    conn->write(sent);
  }
  void onRead(Buffer& in) override {
    got.append(in.readable());
    in.consume(in.size());
    if (got.size() >= sent.size()) return done();
    if (!slow_once && resume) {
      // A slow reader for 100 ms: the server's sends stall with its socket buffers full.
      slow_once = true;
      conn->stopReading();
      resume->start(100, 0, [this] {
        if (!conn) return;
        conn->startReading();
        Buffer& pending = conn->input();
        if (!pending.empty()) onRead(pending);
      });
    }
  }
  bool slow_once = false;
  Timer* resume = nullptr;
  void onDrained() override { drained = true; }
  void onClosed(int) override {
    conn = nullptr;
    done();
  }
};

struct EchoResult {
  Transport used = Transport::kLibuv;
  bool match = false;
  bool drained = false;
  size_t got = 0;
  int server_pauses = 0;
};

EchoResult echo(Transport wanted, size_t bytes) {
  EchoResult result;
  EventLoop loop;
  std::string why;
  result.used = loop.useTransport(wanted, &why);
  TcpListener listener(loop);
  EchoServer server(loop);
  std::string error;
  uint16_t port = 0;
  std::mt19937 rng(std::random_device{}());
  for (int attempt = 0; attempt < 50 && port == 0; ++attempt) {
    auto candidate = static_cast<uint16_t>(20000 + rng() % 12000);
    int rc = listener.listen(
        "127.0.0.1", candidate, 16,
        [&](TcpConnection* c) {
          server.conn = c;
          c->setHandler(&server);
          c->startReading();
        },
        &error, false);
    if (rc == 0) port = candidate;
  }
  REQUIRE(port != 0);
  Client client;
  auto client_resume = std::make_unique<Timer>(loop);
  client.resume = client_resume.get();
  client.sent.resize(bytes);
  for (size_t i = 0; i < bytes; ++i) client.sent[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  auto deadline = std::make_unique<Timer>(loop);
  bool finished = false;
  client.done = [&] {
    if (finished) return;
    finished = true;
    deadline->stop();
    // close() reports nothing more: forget the pointers, and the timers that would use them.
    client_resume->stop();
    server.resume->stop();
    if (client.conn) client.conn->close();
    client.conn = nullptr;
    if (server.conn) server.conn->close(true);  // output pending or not: flushed, then closed
    server.conn = nullptr;
    listener.close();
    // Every handle is released before the loop stops (as a worker's owners do), so it closes clean.
    loop.after(30, [&] {
      deadline.reset();
      client_resume.reset();
      server.resume.reset();
      loop.stop();
    });
  };
  deadline->start(10000, 0, [&] { client.done(); });
  client.conn = TcpConnection::connect(loop, "127.0.0.1", port, 2000, &client);
  loop.run();
  result.match = client.got == client.sent;
  result.got = client.got.size();
  result.drained = client.drained;
  result.server_pauses = server.pauses;
  return result;
}

}  // namespace

TEST_CASE("io transport names", "[uv]") {
  Transport t = Transport::kLibuv;
  CHECK(parseTransport("uring", &t));
  CHECK(t == Transport::kUring);
  CHECK(parseTransport("auto", &t));
  CHECK(t == Transport::kAuto);
  CHECK(parseTransport("libuv", &t));
  CHECK(t == Transport::kLibuv);
  CHECK_FALSE(parseTransport("epoll", &t));
  CHECK(std::string(transportName(Transport::kUring)) == "uring");
}

TEST_CASE("auto is libuv", "[uv]") {
  EventLoop loop;
  std::string why;
  CHECK(loop.useTransport(Transport::kAuto, &why) == Transport::kLibuv);
  CHECK(loop.uring() == nullptr);
}

TEST_CASE("echo over loopback, libuv and io_uring alike", "[uv]") {
  for (Transport wanted : {Transport::kLibuv, Transport::kUring}) {
    for (size_t bytes : {size_t{5}, size_t{100 * 1024}, size_t{8 << 20}}) {
      CAPTURE(transportName(wanted), bytes);
      EchoResult r = echo(wanted, bytes);
      if (wanted == Transport::kUring && r.used != Transport::kUring) WARN("io_uring unavailable: libuv used");
      CHECK(r.got == bytes);
      CHECK(r.match);
      CHECK(r.drained);
      if (bytes > 1000000) CHECK(r.server_pauses > 0);  // paused with a write in flight
    }
  }
}

}  // namespace slotgate::common::uv
