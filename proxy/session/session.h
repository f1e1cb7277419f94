// One client connection: parses its requests, answers or dispatches each, and writes the replies
// back in request order (ReplyQueue). Pipelining is bounded: past `max_pipeline` commands in
// flight the session stops reading until replies drain. A client whose unsent output passes
// `output_limit` is disconnected rather than let the proxy's memory grow.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/uv/tcp_connection.h"
#include "proxy/command/classifier.h"
#include "proxy/request/executor.h"
#include "proxy/request/request.h"
#include "proxy/resp/request_parser.h"
#include "proxy/session/reply_queue.h"
#include "proxy/session/session_stats.h"

namespace slotgate::session {

class Session;

// What a worker shares with all its sessions.
struct SessionContext {
  request::Executor* executor = nullptr;
  SessionStats* stats = nullptr;
  command::LearnedCommandsPtr learned;  // commands learned from the nodes; may be null
  resp::ParseLimits limits;
  size_t max_pipeline = 1024;
  size_t output_limit = 64ull * 1024 * 1024;
  std::function<void(Session*)> on_close;  // the worker forgets and deletes the session
};

class Session : public request::ReplyTarget, private common::uv::TcpConnection::Handler {
 public:
  Session(SessionContext& context, common::uv::TcpConnection* conn);
  ~Session() override;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start();
  // Drops the client now (shutdown).
  void close();

  void deliver(uint64_t seq, std::string_view reply) override;

 private:
  void onRead(common::Buffer& in) override;
  void onClosed(int status) override;

  void processInput(common::Buffer& in);
  void handleCommand(std::string_view request_bytes);
  void replyNow(std::string_view reply);
  void closeAfterReplies();
  void maybeFinish();
  void destroy();

  SessionContext& ctx_;
  common::uv::TcpConnection* conn_;
  std::shared_ptr<request::ReplyLink> link_;
  resp::RequestParser parser_;
  ReplyQueue queue_;
  command::Classification classification_;  // reused per command
  std::vector<std::string_view> argv_;      // reused per command
  bool reading_paused_ = false;
  bool closing_after_replies_ = false;      // QUIT or a protocol error: no more commands
  bool in_read_ = false;
  bool dead_ = false;
};

}  // namespace slotgate::session
