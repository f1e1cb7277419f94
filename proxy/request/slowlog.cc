#include "proxy/request/slowlog.h"

#include <chrono>
#include <cstdlib>

#include <fmt/format.h>

#include "proxy/resp/errors.h"
#include "proxy/resp/number.h"
#include "proxy/resp/writer.h"

namespace slotgate::request {
namespace {

constexpr size_t kDefaultGetCount = 10;

constexpr std::string_view kHelp[] = {
    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name, microseconds spent waiting for the cluster's nodes (slotgate's addition)",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
    "HELP",
    "    Print this help.",
};

}  // namespace

void Slowlog::configure(uint64_t slower_than_us, size_t max_len) {
  slower_than_us_.store(slower_than_us, std::memory_order_relaxed);
  max_len_.store(max_len, std::memory_order_relaxed);
  std::lock_guard lock(mutex_);
  while (entries_.size() > max_len) entries_.pop_back();
}

void Slowlog::add(uint64_t duration_us, uint64_t backend_us, std::span<const std::string_view> argv,
                  std::string_view client, std::string_view client_name) {
  Entry entry;
  entry.duration_us = duration_us;
  entry.backend_us = backend_us;
  entry.unix_time =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  size_t shown = std::min(argv.size(), kMaxArgs);
  for (size_t i = 0; i < shown; ++i) {
    bool last_slot = i + 1 == kMaxArgs && argv.size() > kMaxArgs;
    if (last_slot) {
      entry.args.push_back(fmt::format("... ({} more arguments)", argv.size() - kMaxArgs + 1));
    } else if (argv[i].size() > kMaxArgLen) {
      entry.args.push_back(
          fmt::format("{}... ({} more bytes)", argv[i].substr(0, kMaxArgLen), argv[i].size() - kMaxArgLen));
    } else {
      entry.args.emplace_back(argv[i]);
    }
  }
  entry.client = client;
  entry.client_name = client_name;
  std::lock_guard lock(mutex_);
  size_t max_len = max_len_.load(std::memory_order_relaxed);
  if (max_len == 0) return;
  entry.id = next_id_++;
  entries_.push_front(std::move(entry));
  while (entries_.size() > max_len) entries_.pop_back();
}

std::vector<Slowlog::Entry> Slowlog::newest(size_t count) const {
  std::lock_guard lock(mutex_);
  count = std::min(count, entries_.size());
  return {entries_.begin(), entries_.begin() + static_cast<long>(count)};
}

size_t Slowlog::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

void Slowlog::reset() {
  std::lock_guard lock(mutex_);
  entries_.clear();
}

std::string Slowlog::reply(command::Handler which, std::span<const std::string_view> argv) {
  using command::Handler;
  std::string out;
  std::string_view sub = argv.size() > 1 ? argv[1] : "";
  if (which == Handler::kSlowlogGet && argv.size() <= 3) {
    size_t count = kDefaultGetCount;
    if (argv.size() == 3) {
      int64_t n = 0;
      if (!resp::parseInt(argv[2], &n) || n < -1) {
        return std::string(resp::err::kSlowlogCount);
      }
      count = n == -1 ? SIZE_MAX : static_cast<size_t>(n);
    }
    std::vector<Entry> entries = newest(count);
    resp::appendArrayHeader(out, entries.size());
    for (const Entry& e : entries) {
      resp::appendArrayHeader(out, 7);
      resp::appendInteger(out, static_cast<int64_t>(e.id));
      resp::appendInteger(out, e.unix_time);
      resp::appendInteger(out, static_cast<int64_t>(e.duration_us));
      resp::appendArrayHeader(out, e.args.size());
      for (const std::string& arg : e.args) resp::appendBulk(out, arg);
      resp::appendBulk(out, e.client);
      resp::appendBulk(out, e.client_name);
      resp::appendInteger(out, static_cast<int64_t>(e.backend_us));
    }
  } else if (which == Handler::kSlowlogLen && argv.size() == 2) {
    resp::appendInteger(out, static_cast<int64_t>(size()));
  } else if (which == Handler::kSlowlogReset && argv.size() == 2) {
    reset();
    resp::appendSimple(out, "OK");
  } else if (which == Handler::kSlowlogHelp && argv.size() == 2) {
    resp::appendArrayHeader(out, std::size(kHelp));
    for (std::string_view line : kHelp) resp::appendSimple(out, line);
  } else {
    out = resp::errorReply(fmt::runtime(resp::err::kUnknownSubcommand), sub, "SLOWLOG");
  }
  return out;
}

}  // namespace slotgate::request
