// An idle connection's socket parked bare and adopted again: the bytes the client sends while it
// is parked wake it (once), the adopted connection reads them and answers on the same socket, and
// a client that hangs up while parked is seen as closed. A connection with output pending keeps
// its socket.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <memory>
#include <random>
#include <string>

#include "common/uv/event_loop.h"
#include "common/uv/socket_parking.h"
#include "common/uv/tcp_connection.h"
#include "common/uv/tcp_listener.h"
#include "common/uv/timer.h"

namespace slotgate::common::uv {
namespace {

constexpr uint64_t kKey = 42;

// The server side: answers each read with `answer`, and reports closes.
struct Server : TcpConnection::Handler {
  TcpConnection* conn = nullptr;
  std::string got;
  std::string answer;
  bool closed = false;
  std::function<void()> on_read;
  void onRead(Buffer& in) override {
    got.append(in.readable());
    in.consume(in.size());
    conn->write(answer);
    if (on_read) on_read();
  }
  void onClosed(int) override {
    conn = nullptr;
    closed = true;
  }
};

struct Client : TcpConnection::Handler {
  TcpConnection* conn = nullptr;
  std::string got;
  std::function<void()> on_read;
  void onConnected(int status) override {
    REQUIRE(status == 0);
    conn->startReading();
    conn->write("first");
  }
  void onRead(Buffer& in) override {
    got.append(in.readable());
    in.consume(in.size());
    if (on_read) on_read();
  }
  void onClosed(int) override { conn = nullptr; }
};

uint16_t listenSomewhere(TcpListener& listener, TcpListener::AcceptFn on_accept) {
  std::mt19937 rng(std::random_device{}());
  std::string error;
  for (int attempt = 0; attempt < 50; ++attempt) {
    auto port = static_cast<uint16_t>(20000 + rng() % 12000);
    if (listener.listen("127.0.0.1", port, 16, on_accept, &error, false) == 0) return port;
  }
  FAIL("no free port");
  return 0;
}

struct Outcome {
  int parked_fd = -1;
  int wakes = 0;
  std::string peer_before;
  std::string peer_after;
  std::string server_got;
  std::string client_got;
  bool adopted_closed = false;
};

// The client sends "first", gets "one", waits while the server parks the socket, then either
// sends "second" (expecting "two" from the adopted connection) or hangs up.
Outcome run(bool hang_up) {
  Outcome out;
  EventLoop loop;
  TcpListener listener(loop);
  Server first;
  first.answer = "one";
  Server second;
  second.answer = "two";
  Client client;
  TcpConnection* adopted = nullptr;
  auto finish = std::make_unique<Timer>(loop);
  // One timer per step: a timer's function is not replaced while it runs.
  auto park_step = std::make_unique<Timer>(loop);
  auto speak_step = std::make_unique<Timer>(loop);
  auto end_step = std::make_unique<Timer>(loop);
  std::unique_ptr<SocketParking> parking;
  bool stopped = false;
  auto stop = [&] {
    if (stopped) return;
    stopped = true;
    finish->stop();
    park_step->stop();
    speak_step->stop();
    end_step->stop();
    if (client.conn) client.conn->close();
    client.conn = nullptr;
    if (second.conn) second.conn->close();
    second.conn = nullptr;
    listener.close();
    parking.reset();
    loop.after(20, [&] {
      finish.reset();
      park_step.reset();
      speak_step.reset();
      end_step.reset();
      loop.stop();
    });
  };
  parking = std::make_unique<SocketParking>(loop, [&](uint64_t key) {
    REQUIRE(key == kKey);
    ++out.wakes;
    parking->unpark(out.parked_fd);
    adopted = TcpConnection::adopt(loop, out.parked_fd, false, out.peer_before, &second);
    REQUIRE(adopted != nullptr);
    second.conn = adopted;
    out.peer_after = adopted->peer();
    adopted->startReading();
    if (hang_up) end_step->start(100, 0, stop);  // time for the EOF to be read
  });
  REQUIRE(parking->usable());
  uint16_t port = listenSomewhere(listener, [&](TcpConnection* c) {
    first.conn = c;
    c->setHandler(&first);
    c->startReading();
    out.peer_before = c->peer();
  });
  first.on_read = [&] {
    // Output pending: the socket stays with its connection.
    CHECK(first.conn->detach() == -1);
  };
  client.on_read = [&] {
    if (client.got == "one") {
      // The reply is out: the server parks its side, then the client speaks (or hangs up).
      park_step->start(50, 0, [&] {
        out.parked_fd = first.conn->detach();
        REQUIRE(out.parked_fd >= 0);
        first.conn = nullptr;
        REQUIRE(parking->park(out.parked_fd, kKey));
        speak_step->start(50, 0, [&] {
          if (hang_up) {
            client.conn->close();
            client.conn = nullptr;
          } else {
            client.conn->write("second");
          }
        });
      });
    } else if (client.got == "onetwo") {
      stop();
    }
  };
  finish->start(5000, 0, stop);
  client.conn = TcpConnection::connect(loop, "127.0.0.1", port, 2000, &client);
  loop.run();
  out.server_got = first.got + "|" + second.got;
  out.client_got = client.got;
  out.adopted_closed = second.closed;
  return out;
}

}  // namespace

TEST_CASE("a parked socket wakes on its next bytes and is adopted", "[uv]") {
  Outcome out = run(false);
  CHECK(out.wakes == 1);
  CHECK(out.server_got == "first|second");
  CHECK(out.client_got == "onetwo");
  CHECK(out.peer_after == out.peer_before);
  CHECK_FALSE(out.peer_before.empty());
}

TEST_CASE("a parked socket whose peer hangs up wakes and reads the end", "[uv]") {
  Outcome out = run(true);
  CHECK(out.wakes == 1);
  CHECK(out.adopted_closed);
  CHECK(out.server_got == "first|");
}

}  // namespace slotgate::common::uv
