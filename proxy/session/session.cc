#include "proxy/session/session.h"

#include <algorithm>
#include <cstring>

#include "common/ascii.h"
#include "common/log.h"
#include "common/uv/event_loop.h"
#include "proxy/resp/errors.h"
#include "proxy/resp/writer.h"
#include "proxy/route/plan.h"

namespace slotgate::session {

Session::Session(SessionContext& context, common::uv::TcpConnection* conn)
    : ctx_(context), conn_(conn), link_(std::make_shared<request::ReplyLink>()), parser_(context.limits) {
  link_->target = this;
  conn_->setHandler(this);
  conn_->setCounters(ctx_.io);
  ctx_.stats->connected_clients.add();
  ctx_.stats->total_connections_received.add();
  authenticated_ = ctx_.users.empty();
  info_ = std::make_shared<ClientInfo>();
  info_->id = ctx_.clients ? ctx_.clients->nextId() : 0;
  info_->addr = conn_->peer();
  info_->laddr = ctx_.laddr;
  info_->created_ms = ctx_.loop ? ctx_.loop->nowMs() : 0;
  info_->last_active_ms = info_->created_ms;
  common::uv::EventLoop* loop = ctx_.loop;
  info_->post = [loop](std::function<void()> fn) { loop->post(std::move(fn)); };
  info_->kill = [this] { kill(); };
  if (ctx_.clients) ctx_.clients->add(info_);
}

Session::~Session() {
  link_->target = nullptr;
  if (ctx_.clients) ctx_.clients->remove(info_->id);
  info_->kill = nullptr;
  subs_.reset();
  retire(std::move(pinned_));
  if (conn_) conn_->close();
  ctx_.stats->connected_clients.sub();
}

// A dedicated connection may be calling us right now: free it on a later loop turn.
void Session::retire(std::unique_ptr<backend::BackendConnection> conn) {
  if (!conn || !ctx_.loop) return;
  std::shared_ptr<backend::BackendConnection> doomed(std::move(conn));
  ctx_.loop->post([doomed] {});
}

// CLIENT KILL: what is already written goes out, then the connection closes.
void Session::kill() {
  if (dead_ || !conn_) return;
  conn_->close(true);
  conn_ = nullptr;
  dead_ = true;
  if (!in_read_) destroy();
}

void Session::start() { conn_->startReading(); }

void Session::close() {
  link_->target = nullptr;
  if (conn_) conn_->close(true);
  conn_ = nullptr;
}

void Session::onRead(common::Buffer& in) {
  active_ = true;
  in_read_ = true;
  processInput(in);
  in_read_ = false;
  if (dead_) destroy();
}

void Session::processInput(common::Buffer& in) {
  while (!dead_ && !closing_after_replies_ && !in.empty()) {
    if (exclusive_busy_ || (waiting_drain_ && queue_.pending() > 0)) {
      // A command that runs alone is in flight, or waits for the replies before it.
      conn_->stopReading();
      reading_paused_ = true;
      return;
    }
    waiting_drain_ = false;
    if (queue_.pending() >= ctx_.max_pipeline || outputFull()) {
      // Backpressure: wait for replies (or for the client to read them) before taking more.
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
    if (status == resp::ParseStatus::kCommand && handleCommand(data.substr(0, consumed)) == Step::kWaitForDrain) {
      // Not consumed: parsed again once the earlier replies are out.
      waiting_drain_ = true;
      continue;
    }
    // handleCommand may have closed the connection (conn_ then null) but never touches `in`.
    if (dead_ || !conn_) return;
    in.consume(consumed);
  }
}

Session::Step Session::handleCommand(std::string_view bytes) {
  argv_.clear();
  if (parser_.isInline()) {
    for (const std::string& arg : parser_.inlineArgs()) argv_.emplace_back(arg);
  } else {
    for (const resp::ArgRef& ref : parser_.args()) argv_.push_back(bytes.substr(ref.offset, ref.length));
  }
  command::classify(argv_, &classification_, ctx_.learned.get());
  info_->last_active_ms.store(ctx_.loop->nowMs(), std::memory_order_relaxed);
  // Inline requests have no RESP bytes to forward; the executor encodes them.
  std::string_view raw = parser_.isInline() ? std::string_view() : bytes;
  if (!classification_.error.empty()) {
    ctx_.stats->total_commands_processed.add();
    // CLIENT subcommands newer than the table (SETINFO, NO-TOUCH) are the session's own.
    if (authenticated_ && classification_.fallback) {
      client(*classification_.fallback);
      return Step::kDone;
    }
    if (tx_.active) tx_.dirty = true;
    replyNow(classification_.error);
    return Step::kDone;
  }
  const command::CommandSpec& spec = *classification_.spec;
  std::string_view name = spec.name;
  if (!checkAccess(spec, name)) return Step::kDone;
  if (spec.policy == command::Policy::kStateful || tx_.active || (subs_ && subs_->active()) ||
      (spec.flags & command::kFlagBlocking)) {
    // Timed from here to its first reply, whenever that comes (an EXEC's, a BLPOP's).
    uint64_t seq = queue_.nextSeq();
    startTiming(seq, spec);
    Step step = handleStateful(spec, name, raw);
    if (step == Step::kDone) ctx_.stats->total_commands_processed.add();
    if (step != Step::kDone || queue_.nextSeq() == seq) cancelTiming(seq);  // no reply place taken
    return step;
  }
  ctx_.stats->total_commands_processed.add();
  info_->last_command.store(spec.name, std::memory_order_relaxed);
  route::Plan plan = route::plan(spec, argv_, classification_.key_positions);
  // Over the memory budget nothing new goes to the nodes; local commands (PING, QUIT, SLOTGATE)
  // and INFO still answer so operators can look.
  if (plan.kind != route::Plan::Kind::kLocal && ctx_.budget && ctx_.budget->overMemory() &&
      !(spec.proxy_flags & command::kProxyOverBudget)) {
    ctx_.stats->oom_rejections.add();
    replyNow(resp::err::kOom);
    return Step::kDone;
  }
  if (spec.flags & command::kFlagWrite) noteWrite(plan);
  uint64_t seq = queue_.push();
  startTiming(seq, spec);
  auto outcome = executor().execute(plan, spec, argv_, raw, link_, seq);
  if (outcome.close_after) closeAfterReplies();
  return Step::kDone;
}

void Session::replyNow(std::string_view reply) { deliver(queue_.push(), reply); }

void Session::deliver(uint64_t seq, std::string_view reply) {
  if (dead_ || !conn_) return;
  finishTiming(seq, reply);
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
  if (maybeResume()) return;
  if (dead_ || !conn_) return;
  maybeFinish();
}

bool Session::outputFull() const { return conn_->pendingOutput() >= ctx_.output_limit / 2; }

// Takes commands again once what held them (a full pipeline, a command that runs alone, a large
// unsent output) is over. Returns true if the session was destroyed meanwhile.
bool Session::maybeResume() {
  if (!reading_paused_ || dead_ || !conn_ || exclusive_busy_) return false;
  if (waiting_drain_ ? queue_.pending() > 0 : queue_.pending() > ctx_.max_pipeline / 2) return false;
  if (conn_->pendingOutput() >= ctx_.output_limit / 4) return false;
  reading_paused_ = false;
  conn_->startReading();
  if (!in_read_) {
    in_read_ = true;
    processInput(conn_->input());
    in_read_ = false;
    if (dead_) {
      destroy();
      return true;
    }
  }
  return false;
}

void Session::onDrained() {
  if (maybeResume()) return;
  if (dead_ || !conn_) return;
  maybeFinish();
}

Session::Verdict Session::sweep(uint64_t now_ms) {
  if (dead_ || !conn_) return Verdict::kKeep;
  // Like Redis, clients waiting on a command (blocked ones too) or subscribed are never idle.
  if (active_ || queue_.pending() > 0 || last_active_ms_ == 0 || (subs_ && subs_->active())) {
    active_ = false;
    last_active_ms_ = now_ms;
  } else if (ctx_.idle_ms != 0 && now_ms - last_active_ms_ >= ctx_.idle_ms) {
    return Verdict::kIdle;
  }
  if (ctx_.output_soft_limit == 0 || conn_->pendingOutput() <= ctx_.output_soft_limit) {
    over_soft_since_ms_ = 0;
  } else if (over_soft_since_ms_ == 0) {
    over_soft_since_ms_ = now_ms;
  } else if (now_ms - over_soft_since_ms_ >= ctx_.output_soft_ms) {
    return Verdict::kSoftLimit;
  }
  return Verdict::kKeep;
}

void Session::drop() {
  if (dead_) return;
  link_->target = nullptr;
  if (conn_) conn_->close();
  conn_ = nullptr;
  dead_ = true;
  if (!in_read_) destroy();
}

size_t Session::bufferedBytes() const {
  size_t bytes = queue_.heldBytes();
  if (conn_) bytes += conn_->input().size() + conn_->pendingOutput();
  return bytes;
}

const std::string& Session::peer() const {
  static const std::string kClosed = "(closed)";
  return conn_ ? conn_->peer() : kClosed;
}

void Session::closeAfterReplies() {
  closing_after_replies_ = true;
  if (conn_) conn_->stopReading();
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

void Session::startTiming(uint64_t seq, const command::CommandSpec& spec) {
  if (!ctx_.command_stats) return;
  if (timing_head_ == timings_.size()) {
    timings_.clear();
    timing_head_ = 0;
    timing_base_ = seq;
  }
  // Places for replies the session gave itself (errors) stay untimed.
  while (timing_base_ + (timings_.size() - timing_head_) < seq) timings_.emplace_back();
  Timing& t = timings_.emplace_back();
  t.start_us = request::monotonicMicros();
  t.spec = &spec;
  t.argc = static_cast<uint32_t>(argv_.size());
  size_t used = 0;
  for (std::string_view arg : argv_) {
    if (t.kept == Timing::kKeptArgs || used == Timing::kKeptBytes) break;
    size_t n = std::min({arg.size(), Timing::kKeptArgBytes, Timing::kKeptBytes - used});
    std::memcpy(t.bytes + used, arg.data(), n);
    t.lengths[t.kept] = static_cast<uint8_t>(n);
    t.full_lengths[t.kept] = static_cast<uint32_t>(arg.size());
    ++t.kept;
    used += n;
  }
}

Session::Timing* Session::timingFor(uint64_t seq) {
  if (seq < timing_base_ || seq - timing_base_ >= timings_.size() - timing_head_) return nullptr;
  Timing* t = &timings_[timing_head_ + (seq - timing_base_)];
  return t->spec ? t : nullptr;
}

void Session::addBackendTime(uint64_t seq, uint64_t micros) {
  if (Timing* t = timingFor(seq)) t->backend_us += micros;
}

void Session::cancelTiming(uint64_t seq) {
  Timing* t = timingFor(seq);
  if (!t) return;
  t->spec = nullptr;
  while (!timings_.empty() && timings_.size() > timing_head_ && !timings_.back().spec) timings_.pop_back();
}

void Session::finishTiming(uint64_t seq, std::string_view reply) {
  Timing* t = timingFor(seq);
  if (!t) return;
  uint64_t micros = request::monotonicMicros() - t->start_us;
  // Like Redis, time spent blocked (BLPOP, WAIT) is no latency: counted, kept out of the
  // histogram and SLOWLOG.
  bool blocks = (t->spec->proxy_flags & command::kProxyWaits) != 0;
  ctx_.command_stats->record(*t->spec, micros, !reply.empty() && reply[0] == '-', !blocks);
  if (!blocks && ctx_.slowlog && ctx_.slowlog->isSlow(micros)) recordSlow(*t, micros);
  t->spec = nullptr;
  while (timing_head_ < timings_.size() && !timings_[timing_head_].spec) {
    ++timing_head_;
    ++timing_base_;
  }
  if (timing_head_ == timings_.size()) {
    timings_.clear();
    timing_head_ = 0;
    // A long pipeline grew the vector: give the memory back once it drained.
    if (timings_.capacity() > 64) timings_.shrink_to_fit();
  } else if (timing_head_ > 64 && timing_head_ * 2 > timings_.size()) {
    timings_.erase(timings_.begin(), timings_.begin() + static_cast<long>(timing_head_));
    timing_head_ = 0;
  }
}

void Session::recordSlow(const Timing& t, uint64_t micros) {
  std::vector<std::string> shown;
  size_t offset = 0;
  for (uint8_t i = 0; i < t.kept; ++i) {
    std::string arg(t.bytes + offset, t.lengths[i]);
    offset += t.lengths[i];
    if (t.full_lengths[i] > t.lengths[i]) arg += fmt::format("... ({} more bytes)", t.full_lengths[i] - t.lengths[i]);
    shown.push_back(std::move(arg));
  }
  if (t.argc > t.kept) shown.push_back(fmt::format("... ({} more arguments)", t.argc - t.kept));
  std::vector<std::string_view> views(shown.begin(), shown.end());
  ctx_.slowlog->add(micros, t.backend_us, views, conn_ ? conn_->peer() : "", "");
}

}  // namespace slotgate::session
