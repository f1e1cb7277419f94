#include "proxy/session/session.h"

#include <algorithm>

#include "common/log.h"
#include "common/uv/event_loop.h"
#include "proxy/resp/errors.h"
#include "proxy/resp/writer.h"
#include "proxy/route/plan.h"

namespace slotgate::session {
namespace {

std::shared_ptr<ClientInfo> newClientInfo(SessionContext& ctx, common::uv::TcpConnection* conn) {
  auto info = state::makeClientInfo();
  info->id = ctx.clients ? ctx.clients->nextId() : 0;
  info->addr = conn->peer();
  info->laddr = ctx.laddr;
  info->created_ms = ctx.loop ? ctx.loop->nowMs() : 0;
  info->last_active_ms = info->created_ms;
  info->owner = ctx.owner;
  return info;
}

}  // namespace

Session::Session(SessionContext& context, common::uv::TcpConnection* conn)
    : ctx_(context), conn_(conn), link_(std::make_shared<request::ReplyLink>()),
      info_(newClientInfo(context, conn)), parser_(context.limits),
      state_(context, *context.loop, *this, link_, info_) {
  link_->target = this;
  conn_->setHandler(this);
  conn_->setCounters(ctx_.io);
  ctx_.stats->connected_clients.add();
  ctx_.stats->total_connections_received.add();
  if (ctx_.clients) ctx_.clients->add(info_);
}

Session::Session(SessionContext& context, common::uv::TcpConnection* conn, state::ParkedState&& parked)
    : ctx_(context), conn_(conn), link_(std::make_shared<request::ReplyLink>()), info_(std::move(parked.info)),
      parser_(context.limits), state_(context, *context.loop, *this, link_, info_) {
  link_->target = this;
  conn_->setHandler(this);
  conn_->setCounters(ctx_.io);
  state_.restore(parked);
}

Session::~Session() {
  link_->target = nullptr;
  if (conn_) conn_->close();
  if (parked_) return;  // the client lives on, parked: still registered, still counted
  if (ctx_.clients) ctx_.clients->remove(info_->id);
  ctx_.stats->connected_clients.sub();
}

bool Session::parkable() const {
  return life_ == Life::kOpen && busy_ == 0 && conn_ && conn_->detachable() && queue_.pending() == 0 &&
         held_bytes_ == 0 && !reading_paused_ && !reply_off_ && !skip_next_ && !silent_ && state_.parkable();
}

bool Session::park(state::ParkedState& out, int& fd) {
  if (!parkable()) return false;
  fd = conn_->detach();  // refuses while anything is unsent or unread
  if (fd < 0) return false;
  conn_ = nullptr;
  state_.park(out);
  parked_ = true;
  life_ = Life::kClosed;
  link_->target = nullptr;
  return true;
}

void Session::teardown(Close how) {
  if (life_ == Life::kClosed) return;
  life_ = Life::kClosed;
  if (conn_ && how != Close::kPeerGone) conn_->close(how == Close::kFlush);
  conn_ = nullptr;
  if (busy_ == 0) destroy();  // else the outermost call of ours does it
}

void Session::destroy() {
  link_->target = nullptr;
  ctx_.on_close(this);  // deletes this
}

// CLIENT KILL: what is already written goes out, then the connection closes.
void Session::kill() { teardown(Close::kFlush); }

void Session::drop() { teardown(Close::kNow); }

void Session::onClosed(int) { teardown(Close::kPeerGone); }

void Session::start() { conn_->startReading(); }

void Session::close() {
  link_->target = nullptr;
  if (conn_) conn_->close(true);
  conn_ = nullptr;
}

void Session::onRead(common::Buffer& in) {
  active_ = true;
  runInput(in);
}

// Returns false if the session was destroyed meanwhile.
bool Session::runInput(common::Buffer& in) {
  {
    Busy busy(*this);
    processInput(in);
  }
  if (life_ != Life::kClosed || busy_ > 0) return true;
  destroy();
  return false;
}

void Session::pauseReading() {
  conn_->stopReading();
  reading_paused_ = true;
}

void Session::processInput(common::Buffer& in) {
  // A request may keep a large command as a slice of `in` (see common/chunk.h).
  common::ReceivedBytes received(in);
  while (life_ == Life::kOpen && !in.empty()) {
    if (state_.runningAlone() || (held_bytes_ > 0 && queue_.pending() > 0)) {
      // A command that runs alone is in flight, or waits for the replies before it.
      return pauseReading();
    }
    if (queue_.pending() >= ctx_.max_pipeline || outputFull()) {
      // Backpressure: wait for replies (or for the client to read them) before taking more.
      return pauseReading();
    }
    std::string_view data = in.readable();
    size_t consumed = held_bytes_;
    held_bytes_ = 0;
    if (consumed == 0) {
      resp::ParseStatus status = parser_.parse(data);
      if (status == resp::ParseStatus::kIncomplete) {
        if (parser_.needed() >= common::kSliceMinBytes) in.reserve(parser_.needed());
        return;
      }
      if (status == resp::ParseStatus::kError) {
        common::logger("session")->debug("client {}: protocol error: {}", conn_->peer(), parser_.error());
        ctx_.stats->protocol_errors.add();
        reply(resp::errorReply(fmt::runtime(resp::err::kProtocol), parser_.error()));
        closeAfterReplies();
        return;
      }
      consumed = parser_.consumed();
      if (status == resp::ParseStatus::kEmpty) {
        in.consume(consumed);
        continue;
      }
      // A new command: CLIENT REPLY decides whether what it answers is shown.
      silent_ = reply_off_ || skip_next_;
      skip_next_ = false;
    }
    // The parser still holds this command's arguments: it is not asked for another before.
    if (!handleCommand(data.substr(0, consumed))) {
      held_bytes_ = consumed;
      continue;
    }
    // handleCommand may have closed the connection (conn_ then null) but never touches `in`.
    if (!conn_) return;
    in.consume(consumed);
  }
}

bool Session::handleCommand(std::string_view bytes) {
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
  state::Call call{classification_.spec, argv_, raw, classification_.key_positions};
  if (!classification_.error.empty()) {
    ctx_.stats->total_commands_processed.add();
    // CLIENT subcommands newer than the table (SETINFO, NO-TOUCH) are the session's own.
    if (state_.connection().authenticated() && classification_.fallback) {
      state_.connection().client({classification_.fallback, argv_, raw, classification_.key_positions});
      return true;
    }
    state_.refuse(classification_.error);
    return true;
  }
  const command::CommandSpec& spec = *classification_.spec;
  if (!state_.checkAccess(call)) return true;
  // Timed from here to its first reply place, whenever that reply comes (an EXEC's, a BLPOP's).
  timing_spec_ = &spec;
  timing_start_us_ = request::monotonicMicros();
  if (state_.wants(spec)) {
    bool done = state_.handle(call) == state::ClientState::Step::kDone;
    timing_spec_ = nullptr;
    if (done) ctx_.stats->total_commands_processed.add();
    return done;
  }
  if (state_.scriptMustWait(spec)) {
    timing_spec_ = nullptr;
    return false;  // handed again once the replies before it are in
  }
  ctx_.stats->total_commands_processed.add();
  info_->last_command.store(spec.name, std::memory_order_relaxed);
  route::Plan plan = route::plan(spec, argv_, classification_.key_positions);
  // Over the memory budget nothing new goes to the nodes; local commands (PING, QUIT, SLOTGATE)
  // and INFO still answer so operators can look.
  if (plan.kind != route::Plan::Kind::kLocal && ctx_.budget && ctx_.budget->overMemory() &&
      !(spec.proxy_flags & command::kProxyOverBudget)) {
    ctx_.stats->oom_rejections.add();
    timing_spec_ = nullptr;
    reply(resp::err::kOom);
    return true;
  }
  if (spec.flags & command::kFlagWrite) state_.noteWrite(plan);
  auto outcome = state_.executor().execute(plan, spec, argv_, raw, link_, reserve());
  if (outcome.close_after) closeAfterReplies();
  return true;
}

uint64_t Session::reservePlace(bool silent) {
  uint64_t seq = queue_.push(silent);
  if (timing_spec_ && ctx_.command_stats) {
    queue_.timing(seq)->start(timing_start_us_, *timing_spec_, argv_);
  }
  timing_spec_ = nullptr;
  return seq;
}

// As Redis: OFF silences from this command on, SKIP this command and the next one (unless OFF is
// in force), ON lets this command's own reply through.
void Session::setReplyMode(state::ReplyMode mode) {
  switch (mode) {
    case state::ReplyMode::kOn:
      reply_off_ = skip_next_ = silent_ = false;
      break;
    case state::ReplyMode::kOff:
      reply_off_ = silent_ = true;
      skip_next_ = false;
      break;
    case state::ReplyMode::kSkip:
      skip_next_ = !reply_off_;
      silent_ = true;
      break;
  }
}

void Session::deliver(uint64_t seq, std::string_view reply) {
  if (state_.ownsReply(seq)) {
    // It ran on a node connection of its own: the node's share is about all of it.
    if (CommandTiming* t = queue_.timing(seq); t && t->spec)
      t->backend_us = request::monotonicMicros() - t->start_us;
    state_.finishAlone(reply);
  }
  if (life_ == Life::kClosed || !conn_) return;
  finishTiming(seq, reply);
  // A large reply that may leave now goes out as a slice of the node's receive buffer.
  if (reply.size() >= common::kSliceMinBytes && queue_.atHead(seq)) {
    if (common::Slice slice = common::ReceivedBytes::pin(reply)) {
      conn_->write(std::move(slice));
      reply = {};
    }
  }
  if (queue_.complete(seq, reply, conn_->output()) > 0) conn_->markDirty();
  // Nothing of the client's is in flight: its commands may take the shared links again.
  if (queue_.pending() == 0) link_->script_lane = false;
  if (conn_->pendingOutput() > ctx_.output_limit) {
    common::logger("session")->warn("client {} dropped: {} bytes of replies unread (limit {})", conn_->peer(),
                                    conn_->pendingOutput(), ctx_.output_limit);
    ctx_.stats->output_limit_disconnects.add();
    return teardown(Close::kNow);
  }
  maybeResume();
}

bool Session::outputFull() const { return conn_->pendingOutput() >= ctx_.output_limit / 2; }

// Takes commands again once what held them (a full pipeline, a command that runs alone, a large
// unsent output) is over, and closes a finishing client whose replies are out.
void Session::maybeResume() {
  if (life_ == Life::kClosed || !conn_) return;
  if (reading_paused_ && !state_.runningAlone() &&
      (held_bytes_ > 0 ? queue_.pending() == 0 : queue_.pending() <= ctx_.max_pipeline / 2) &&
      conn_->pendingOutput() < ctx_.output_limit / 4) {
    reading_paused_ = false;
    conn_->startReading();
    if (busy_ == 0 && !runInput(conn_->input())) return;
  }
  maybeFinish();
}

void Session::onDrained() { maybeResume(); }

Session::Verdict Session::sweep(uint64_t now_ms) {
  if (life_ == Life::kClosed || !conn_) return Verdict::kKeep;
  if (!active_ && queue_.pending() == 0 && held_bytes_ == 0) releaseIdleMemory();
  // Like Redis, clients waiting on a command (blocked ones too) or subscribed are never idle.
  if (active_ || queue_.pending() > 0 || last_active_ms_ == 0 || state_.subscribed()) {
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
  if (ctx_.park_ms != 0 && !active_ && now_ms - last_active_ms_ >= ctx_.park_ms && parkable()) {
    return Verdict::kPark;
  }
  return Verdict::kKeep;
}

void Session::releaseIdleMemory() {
  queue_.releaseIfEmpty();
  parser_.releaseIfIdle();
  std::vector<std::string_view>().swap(argv_);
  std::vector<uint32_t>().swap(classification_.key_positions);
  std::string().swap(classification_.error);
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
  if (life_ != Life::kOpen) return;
  life_ = Life::kFinishing;
  if (conn_) conn_->stopReading();
  maybeFinish();
}

void Session::maybeFinish() {
  if (life_ == Life::kFinishing && queue_.pending() == 0) teardown(Close::kFlush);  // writes what is left
}

void Session::addBackendTime(uint64_t seq, uint64_t micros) {
  if (CommandTiming* t = queue_.timing(seq); t && t->spec) t->backend_us += micros;
}

void Session::finishTiming(uint64_t seq, std::string_view reply) {
  CommandTiming* t = queue_.timing(seq);
  if (!t || !t->spec) return;
  uint64_t micros = request::monotonicMicros() - t->start_us;
  // Like Redis, time spent blocked (BLPOP, WAIT) is no latency: counted, kept out of the
  // histogram and SLOWLOG.
  bool blocks = (t->spec->proxy_flags & command::kProxyWaits) != 0;
  ctx_.command_stats->record(*t->spec, micros, !reply.empty() && reply[0] == '-', !blocks);
  if (!blocks && ctx_.slowlog && ctx_.slowlog->isSlow(micros)) recordSlow(*t, micros);
  t->spec = nullptr;
}

void Session::recordSlow(const CommandTiming& t, uint64_t micros) {
  std::vector<std::string> shown = t.shown();
  std::vector<std::string_view> views(shown.begin(), shown.end());
  ctx_.slowlog->add(micros, t.backend_us, views, conn_ ? conn_->peer() : "", "");
}

}  // namespace slotgate::session
