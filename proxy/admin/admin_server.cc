#include "proxy/admin/admin_server.h"

#include <fmt/format.h>

#include "common/log.h"
#include "common/uv/tcp_connection.h"
#include "proxy/admin/http_request.h"

namespace slotgate::admin {
namespace {

constexpr uint64_t kRequestTimeoutMs = 10000;
constexpr int kBacklog = 64;
constexpr std::string_view kText = "text/plain; charset=utf-8";
constexpr std::string_view kPrometheus = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::string_view kJson = "application/json";

std::string_view reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 414:
      return "URI Too Long";
    case 431:
      return "Request Header Fields Too Large";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Error";
  }
}

}  // namespace

std::string httpResponse(int status, std::string_view content_type, std::string_view body, bool head_only) {
  std::string out = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n"
      "Cache-Control: no-store\r\n{}\r\n",
      status, reason(status), content_type, body.size(), status == 405 ? "Allow: GET, HEAD\r\n" : "");
  if (!head_only) out.append(body);
  return out;
}

class AdminServer::Connection : private common::uv::TcpConnection::Handler {
 public:
  Connection(AdminServer& server, uint64_t id, common::uv::TcpConnection* conn)
      : server_(server), id_(id), conn_(conn) {
    conn_->setHandler(this);
    conn_->startReading();
  }
  ~Connection() override {
    if (conn_) conn_->close();
  }

  void respond(const std::string& bytes) {
    if (!conn_) return;
    conn_->write(bytes);
    conn_->close(/*flush_first=*/true);
    conn_ = nullptr;
    server_.forget(id_);  // deletes this
  }
  void timeout() { respond(httpResponse(408, kText, "request timeout\n")); }

 private:
  void onRead(common::Buffer& in) override {
    if (answered_) {
      in.consume(in.size());
      return;
    }
    HttpRequest request;
    HttpParse parse = parseHttpRequest(in.readable(), &request);
    if (parse.status == HttpParse::Status::kIncomplete) return;
    in.consume(in.size());
    answered_ = true;
    conn_->stopReading();
    if (parse.status == HttpParse::Status::kError) {
      return respond(httpResponse(parse.error_status, kText, parse.error + "\n"));
    }
    handle(request);
  }

  void onClosed(int) override {
    conn_ = nullptr;
    server_.forget(id_);  // deletes this
  }

  void handle(const HttpRequest& request) {
    bool head = request.method == "HEAD";
    if (request.method != "GET" && !head) {
      return respond(httpResponse(405, kText, "only GET and HEAD are served\n"));
    }
    const AdminHandlers& h = server_.handlers_;
    if (request.path == "/healthz") return respond(httpResponse(200, kText, "ok\n", head));
    AdminServer* server = &server_;
    uint64_t id = id_;
    // Answers may come after this connection is gone: look it up again by id.
    auto reply_later = [server, id](std::string response) {
      auto it = server->connections_.find(id);
      if (it != server->connections_.end()) it->second->respond(response);
    };
    if (request.path == "/readyz") {
      h.ready([reply_later, head](bool ready, std::string why) {
        reply_later(httpResponse(ready ? 200 : 503, kText, ready ? "ready\n" : why + "\n", head));
      });
      return;
    }
    if (request.path == "/topology") return respond(httpResponse(200, kJson, h.topology(), head));
    if (request.path == "/metrics") {
      h.metrics(
          [reply_later, head](std::string text) { reply_later(httpResponse(200, kPrometheus, text, head)); });
      return;
    }
    respond(httpResponse(404, kText, "not found; try /metrics, /healthz, /readyz or /topology\n", head));
  }

  AdminServer& server_;
  uint64_t id_;
  common::uv::TcpConnection* conn_;
  bool answered_ = false;
};

AdminServer::AdminServer(common::uv::EventLoop& loop, AdminHandlers handlers)
    : loop_(loop), handlers_(std::move(handlers)) {}

AdminServer::~AdminServer() { close(); }

int AdminServer::listen(const std::string& host, uint16_t port, std::string* error) {
  listener_ = std::make_unique<common::uv::TcpListener>(loop_);
  return listener_->listen(
      host, port, kBacklog, [this](common::uv::TcpConnection* conn) { onAccept(conn); }, error,
      /*reuse_port=*/false);
}

void AdminServer::close() {
  if (listener_) listener_->close();
  listener_.reset();
  connections_.clear();
}

void AdminServer::onAccept(common::uv::TcpConnection* conn) {
  uint64_t id = next_id_++;
  connections_.emplace(id, std::make_unique<Connection>(*this, id, conn));
  loop_.after(kRequestTimeoutMs, [this, id] {
    auto it = connections_.find(id);
    if (it != connections_.end()) it->second->timeout();
  });
}

void AdminServer::forget(uint64_t id) { connections_.erase(id); }

}  // namespace slotgate::admin
