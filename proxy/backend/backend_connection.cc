#include "proxy/backend/backend_connection.h"

#include <algorithm>

#include "common/log.h"
#include "common/retry_policy.h"
#include "common/uv/error_text.h"
#include "common/uv/event_loop.h"

namespace slotgate::backend {
namespace {

constexpr std::string_view kAsking = "*1\r\n$6\r\nASKING\r\n";
constexpr std::string_view kReadonly = "*1\r\n$8\r\nREADONLY\r\n";

// Handshake replies are dropped; only a failure is worth a log line.
class HandshakeWaiter : public Waiter {
 public:
  explicit HandshakeWaiter(std::string address) : address_(std::move(address)) {}
  void onReply(std::string_view reply) override {
    if (!reply.empty() && reply[0] == '-') {
      common::logger("backend")->error("{} refused the connection handshake: {}", address_,
                                       reply.substr(1, reply.find('\r') - 1));
    }
  }
  void onFailure(Failure, const std::string&, const std::string&) override {}

 private:
  std::string address_;
};

// Reports the liveness probe's outcome to the connection that asked, if it is still there.
class ProbeWaiter : public Waiter {
 public:
  explicit ProbeWaiter(std::shared_ptr<BackendConnection*> owner) : owner_(std::move(owner)) {}
  void onReply(std::string_view) override;
  void onFailure(Failure, const std::string&, const std::string&) override;

 private:
  std::shared_ptr<BackendConnection*> owner_;
};

constexpr std::string_view kPing = "*1\r\n$4\r\nPING\r\n";

void appendBulk(std::string& out, std::string_view arg) {
  out += '$';
  out += std::to_string(arg.size());
  out += "\r\n";
  out += arg;
  out += "\r\n";
}

std::string encode(std::initializer_list<std::string_view> args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (std::string_view arg : args) appendBulk(out, arg);
  return out;
}

}  // namespace

void setHandshake(BackendOptions& options, int proto, const std::string& user, const std::string& password) {
  options.handshake.clear();
  options.handshake_commands = 0;
  if (proto == 3) {
    options.handshake = password.empty()
                            ? encode({"HELLO", "3"})
                            : encode({"HELLO", "3", "AUTH", user.empty() ? "default" : user, password});
    options.handshake_commands = 1;
  } else if (!password.empty()) {
    options.handshake = user.empty() ? encode({"AUTH", password}) : encode({"AUTH", user, password});
    options.handshake_commands = 1;
  }
}

BackendOptions backendOptions(const config::Config& config, int proto, common::tls::TlsContextPtr tls) {
  BackendOptions options;
  options.tls = std::move(tls);
  options.connect_timeout_ms = config.connect_timeout_ms;
  options.op_timeout_ms = config.backend_timeout_ms;
  options.spare_links = config.spare_links;
  setHandshake(options, proto, config.backend.user, config.backend.password);
  return options;
}

BackendConnection::BackendConnection(common::uv::EventLoop& loop, std::string host, uint16_t port,
                                     const BackendOptions& options)
    : loop_(loop), host_(std::move(host)), port_(port), options_(options) {
  address_ = (host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_) + ":" + std::to_string(port_);
}

BackendConnection::~BackendConnection() {
  *self_ = nullptr;
  probe_link_.reset();
  if (conn_) conn_->close();
  conn_ = nullptr;
  failAll(Failure::kLost, "proxy shutting down");
}

void BackendConnection::ensureConnection() {
  if (conn_) return;
  connecting_ = true;
  scanner_ = resp::ReplyScanner();
  conn_ = common::uv::TcpConnection::connect(loop_, host_, port_, options_.connect_timeout_ms, this);
  ++generation_;
  if (conn_) conn_->setCounters(io_);
  if (conn_ && options_.tls) conn_->setFilter(options_.tls->newFilter(host_));
  if (options_.handshake_commands > 0) {
    conn_->write(options_.handshake);
    for (unsigned i = 0; i < options_.handshake_commands; ++i) {
      fifo_.push_back({std::make_shared<HandshakeWaiter>(address_), loop_.nowMs(), false});
    }
  }
  if (readonly_ && conn_) {
    // After the handshake (AUTH); its reply (+OK) goes to no one. A replica then serves reads
    // for its master's slots.
    conn_->write(kReadonly);
    fifo_.push_back({nullptr, loop_.nowMs(), false});
  }
}

void BackendConnection::probe() {
  if (!conn_ && loop_.nowMs() >= down_until_ms_) ensureConnection();
}

bool BackendConnection::down() const { return !conn_ && loop_.nowMs() < down_until_ms_; }

void BackendConnection::setReadonly(bool readonly) {
  if (readonly == readonly_) return;
  readonly_ = readonly;
  if (readonly && conn_) {
    conn_->write(kReadonly);
    fifo_.push_back({nullptr, loop_.nowMs(), !connecting_});
  }
}

bool BackendConnection::backingOff() const { return !conn_ && loop_.nowMs() < down_until_ms_; }

void BackendConnection::sendRaw(std::string_view command) {
  if (!conn_ && loop_.nowMs() < down_until_ms_) return;
  ensureConnection();
  conn_->write(command);
}

void BackendConnection::send(WaiterPtr waiter, std::string_view command, bool asking, uint64_t extra_ms,
                             unsigned replies) {
  uint64_t now = loop_.nowMs();
  uint64_t allowed = options_.op_timeout_ms + std::min(extra_ms, kNoDeadline - options_.op_timeout_ms);
  uint64_t deadline = extra_ms == kNoDeadline || allowed > kNoDeadline - now ? kNoDeadline : now + allowed;
  close_when_idle_ = false;
  if (!conn_ && now < down_until_ms_) {
    if (waiter) waiter->onFailure(Failure::kUnreachable, address_, last_error_);
    return;
  }
  ensureConnection();
  if (asking) {
    conn_->write(kAsking);
    fifo_.push_back({nullptr, deadline, !connecting_});
  }
  common::Slice shared;
  if (waiter && command.size() >= common::kSliceMinBytes) shared = waiter->sentBytes(command);
  if (shared) {
    conn_->write(std::move(shared));
  } else {
    conn_->write(command);
  }
  fifo_.push_back({std::move(waiter), deadline, !connecting_, replies});
}

void BackendConnection::onConnected(int status) {
  if (status != 0) {
    last_error_ = conn_ ? conn_->failureText(status) : common::uv::errorText(status);
    conn_ = nullptr;  // already closing
    connecting_ = false;
    uint64_t backoff_ms = common::RetryPolicy::backoffMs(++failed_connects_);
    down_until_ms_ = loop_.nowMs() + backoff_ms;
    // Warn once per outage; the retries that follow are debug detail.
    common::logger("backend")->log(warned_down_ ? spdlog::level::debug : spdlog::level::warn,
                                   "cannot connect to {}: {} (retrying in {} ms)", address_, last_error_,
                                   backoff_ms);
    warned_down_ = true;
    ++connect_failures_;
    connect_failed_ = true;
    failAll(Failure::kUnreachable, last_error_);
    if (close_handler_) close_handler_(last_error_);
    return;
  }
  connecting_ = false;
  failed_connects_ = 0;
  ++connects_;
  connect_failed_ = false;
  common::logger("backend")->log(warned_down_ ? spdlog::level::info : spdlog::level::debug, "connected to {}",
                                 address_);
  warned_down_ = false;
  for (Entry& entry : fifo_) entry.written = true;
  conn_->startReading();
}

void BackendConnection::onRead(common::Buffer& in) {
  // A waiter may keep a large reply as a slice of `in` (see common/chunk.h).
  common::ReceivedBytes received(in);
  while (!in.empty()) {
    std::string_view data = in.readable();
    auto status = scanner_.scan(data);
    if (status == resp::ReplyScanner::Status::kIncomplete) {
      if (scanner_.needed() >= common::kSliceMinBytes) in.reserve(scanner_.needed());
      return;
    }
    bool push = status == resp::ReplyScanner::Status::kComplete && push_handler_ &&
                (fifo_.empty() || data[0] == '>');
    if (push) {
      size_t length = scanner_.length();
      push_handler_(data.substr(0, length));
      in.consume(length);
      continue;
    }
    if (status == resp::ReplyScanner::Status::kError || fifo_.empty()) {
      common::logger("backend")->error("{} sent {}; closing the connection", address_,
                                       fifo_.empty() ? "a reply nobody asked for" : "an unparsable reply");
      return reset("protocol error from node", std::nullopt);
    }
    size_t length = scanner_.length();
    Entry& head = fifo_.front();
    WaiterPtr waiter = --head.replies == 0 ? std::move(head.waiter) : head.waiter;
    if (head.replies == 0) fifo_.pop_front();
    if (waiter) waiter->onReply(data.substr(0, length));
    // The waiter may have sent more on this connection, but cannot have closed it.
    in.consume(length);
    if (close_when_idle_ && fifo_.empty()) return closeWhenIdle();
  }
}

void BackendConnection::closeWhenIdle() {
  close_when_idle_ = true;
  if (!fifo_.empty() || !conn_) return;
  common::logger("backend")->debug("closing the idle connection to {}, which left the cluster", address_);
  conn_->close();
  conn_ = nullptr;
  connecting_ = false;
}

void BackendConnection::onClosed(int status) {
  last_error_ = status == 0 ? "connection closed by the node"
                            : (conn_ ? conn_->failureText(status) : common::uv::errorText(status));
  conn_ = nullptr;
  connecting_ = false;
  // A node that dies may still accept a connection or two while its process is torn down:
  // commands written there would be lost too. Refuse sends briefly (they wait and go elsewhere).
  if (status != 0 || !fifo_.empty()) down_until_ms_ = loop_.nowMs() + common::RetryPolicy::kPauseAfterLossMs;
  common::logger("backend")->warn("connection to {} lost: {}", address_, last_error_);
  failAll(Failure::kLost, last_error_);
  if (close_handler_) close_handler_(last_error_);
}

void BackendConnection::failAll(Failure connected_failure, const std::string& detail,
                                std::optional<Failure> head_failure) {
  // Detach first: a waiter may retry on this very connection.
  std::deque<Entry> failed;
  failed.swap(fifo_);
  for (Entry& entry : failed) {
    if (!entry.waiter) continue;  // ASKING
    Failure failure = !entry.written ? Failure::kUnreachable : head_failure.value_or(connected_failure);
    head_failure.reset();
    entry.waiter->onFailure(failure, address_, detail);
  }
}

void BackendConnection::checkTimeout(uint64_t now_ms) {
  if (probe_link_) probe_link_->checkTimeout(now_ms);
  if (fifo_.empty() || !conn_) return;
  const Entry& head = fifo_.front();
  if (now_ms < head.deadline_ms) return;
  if (!is_probe_ && !connecting_) {
    // A slow reply is not a dead node: a node running a long script (or a slow command that
    // yields) answers others, -BUSY at least. Resetting would lose the outcome of every command
    // on this connection while the node keeps running them. Ask it on another connection.
    if (probing_) return;
    if (!probe_link_) {
      BackendOptions probe_options = options_;
      probe_options.spare_links = 0;
      probe_link_ = std::make_unique<BackendConnection>(loop_, host_, port_, probe_options);
      probe_link_->is_probe_ = true;
    }
    probing_ = true;
    common::logger("backend")->debug("{} has not answered for {} ms; probing it", address_,
                                     now_ms - (head.deadline_ms - options_.op_timeout_ms));
    probe_link_->send(std::make_shared<ProbeWaiter>(self_), kPing);
    return;
  }
  common::logger("backend")->warn("{} did not answer in time (op timeout {} ms); resetting the connection",
                                  address_, options_.op_timeout_ms);
  // The head timed out; the rest are lost with the connection their replies would come on.
  reset("no reply in time", Failure::kTimeout);
}

void ProbeWaiter::onReply(std::string_view) {
  if (*owner_) (*owner_)->onProbeAnswered();
}

void ProbeWaiter::onFailure(Failure, const std::string&, const std::string&) {
  if (*owner_) (*owner_)->onProbeFailed();
}

void BackendConnection::onProbeAnswered() {
  probing_ = false;
  // Alive (busy, perhaps): what is overdue may take another op timeout.
  uint64_t now = loop_.nowMs();
  for (Entry& entry : fifo_) {
    if (entry.deadline_ms <= now) entry.deadline_ms = now + options_.op_timeout_ms;
  }
}

void BackendConnection::onProbeFailed() {
  probing_ = false;
  if (fifo_.empty() || !conn_ || loop_.nowMs() < fifo_.front().deadline_ms) return;
  common::logger("backend")->warn(
      "{} did not answer in time (op timeout {} ms), nor a probe; resetting the connection", address_,
      options_.op_timeout_ms);
  reset("no reply in time", Failure::kTimeout);
}

void BackendConnection::reset(const std::string& why, std::optional<Failure> head_failure) {
  conn_->close();
  conn_ = nullptr;
  connecting_ = false;
  failAll(Failure::kLost, why, head_failure);
  if (close_handler_) close_handler_(why);
}

}  // namespace slotgate::backend
