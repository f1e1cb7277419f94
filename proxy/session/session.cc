#include "proxy/session/session.h"

#include "common/log.h"
#include "proxy/resp/errors.h"
#include "proxy/resp/writer.h"
#include "proxy/route/plan.h"

namespace slotgate::session {

Session::Session(SessionContext& context, common::uv::TcpConnection* conn)
    : ctx_(context), conn_(conn), link_(std::make_shared<request::ReplyLink>()), parser_(context.limits) {
  link_->target = this;
  conn_->setHandler(this);
  ctx_.stats->connected_clients.add();
  ctx_.stats->total_connections_received.add();
}

Session::~Session() {
  link_->target = nullptr;
  if (conn_) conn_->close();
  ctx_.stats->connected_clients.sub();
}

void Session::start() { conn_->startReading(); }

void Session::close() {
  link_->target = nullptr;
  if (conn_) conn_->close(true);
  conn_ = nullptr;
}

void Session::onRead(common::Buffer& in) {
  in_read_ = true;
  processInput(in);
  in_read_ = false;
  if (dead_) destroy();
}

void Session::processInput(common::Buffer& in) {
  while (!dead_ && !closing_after_replies_ && !in.empty()) {
    if (queue_.pending() >= ctx_.max_pipeline) {
      // Backpressure: wait for replies before taking more commands.
      conn_->stopReading();
      reading_paused_ = true;
      return;
    }
    std::string_view data = in.readable();
    resp::ParseStatus status = parser_.parse(data);
    if (status == resp::ParseStatus::kIncomplete) return;
    if (status == resp::ParseStatus::kError) {
      common::logger("session")->debug("client {}: protocol error: {}", conn_->peer(), parser_.error());
      ctx_.stats->protocol_errors.add();
      replyNow(resp::errorReply(fmt::runtime(resp::err::kProtocol), parser_.error()));
      closeAfterReplies();
      return;
    }
    size_t consumed = parser_.consumed();
    if (status == resp::ParseStatus::kCommand) handleCommand(data.substr(0, consumed));
    // handleCommand may have closed the connection (conn_ then null) but never touches `in`.
    if (dead_ || !conn_) return;
    in.consume(consumed);
  }
}

void Session::handleCommand(std::string_view bytes) {
  argv_.clear();
  if (parser_.isInline()) {
    for (const std::string& arg : parser_.inlineArgs()) argv_.emplace_back(arg);
  } else {
    for (const resp::ArgRef& ref : parser_.args()) argv_.push_back(bytes.substr(ref.offset, ref.length));
  }
  ctx_.stats->total_commands_processed.add();
  command::classify(argv_, &classification_, ctx_.learned.get());
  if (!classification_.error.empty()) return replyNow(classification_.error);
  const command::CommandSpec& spec = *classification_.spec;
  route::Plan plan = route::plan(spec, argv_, classification_.key_positions);
  // Inline requests have no RESP bytes to forward; the executor encodes them.
  std::string_view raw = parser_.isInline() ? std::string_view() : bytes;
  auto outcome = ctx_.executor->execute(plan, spec, argv_, raw, link_, queue_.push());
  if (outcome.close_after) closeAfterReplies();
}

void Session::replyNow(std::string_view reply) { deliver(queue_.push(), reply); }

void Session::deliver(uint64_t seq, std::string_view reply) {
  if (dead_ || !conn_) return;
  if (queue_.complete(seq, reply, conn_->output()) > 0) conn_->markDirty();
  if (conn_->pendingOutput() > ctx_.output_limit) {
    common::logger("session")->warn("client {} dropped: {} bytes of replies unread (limit {})",
                                    conn_->peer(), conn_->pendingOutput(), ctx_.output_limit);
    ctx_.stats->output_limit_disconnects.add();
    conn_->close();
    conn_ = nullptr;
    dead_ = true;
    if (!in_read_) destroy();
    return;
  }
  if (reading_paused_ && queue_.pending() <= ctx_.max_pipeline / 2) {
    reading_paused_ = false;
    conn_->startReading();
    if (!in_read_) {
      in_read_ = true;
      processInput(conn_->input());
      in_read_ = false;
      if (dead_) return destroy();
    }
  }
  maybeFinish();
}

void Session::closeAfterReplies() {
  closing_after_replies_ = true;
  conn_->stopReading();
  maybeFinish();
}

void Session::maybeFinish() {
  if (!closing_after_replies_ || queue_.pending() > 0 || dead_ || !conn_) return;
  conn_->close(true);  // writes what is left, then closes
  conn_ = nullptr;
  dead_ = true;
  if (!in_read_) destroy();
}

void Session::onClosed(int) {
  conn_ = nullptr;
  dead_ = true;
  if (!in_read_) destroy();
}

void Session::destroy() {
  link_->target = nullptr;
  ctx_.on_close(this);  // deletes this
}

}  // namespace slotgate::session
