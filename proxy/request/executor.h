// Carries out a routing plan for one client command: a local reply, one request, a split into one
// sub-command per slot, a fan-out to every primary or node, or one step of a SCAN. The reply, in
// every case, reaches the client's ordered queue through `link` under `seq`.
#pragma once

#include <memory>
#include <random>
#include <span>
#include <string>
#include <string_view>

#include "proxy/command/command_spec.h"
#include "proxy/request/dispatcher.h"
#include "proxy/request/info_merge.h"
#include "proxy/request/local_reply.h"
#include "proxy/request/request.h"
#include "proxy/route/plan.h"

namespace slotgate::request {

// SCAN cursors: the low bits name the primary (by index in address order), the rest are that
// primary's own cursor.
inline constexpr unsigned kScanIndexBits = 10;

class Executor {
 public:
  // `local.proto` is the protocol of this executor's clients and node connections.
  Executor(Dispatcher& dispatcher, LocalContext local, const ProxyInfoSource* info);

  struct Outcome {
    bool close_after = false;  // QUIT: close once the replies are out
  };

  // A new settings snapshot (reload): SLOTGATE CONFIG GET shows it.
  void setConfig(const config::Config* config) { local_.config = config; }

  // `raw` is the request's RESP bytes as received, or empty for an inline request.
  Outcome execute(const route::Plan& plan, const command::CommandSpec& spec,
                  std::span<const std::string_view> argv, std::string_view raw,
                  const std::shared_ptr<ReplyLink>& link, uint64_t seq);

 private:
  void single(const route::Plan& plan, const command::CommandSpec& spec, std::span<const std::string_view> argv,
              std::string_view raw, const std::shared_ptr<ReplyLink>& link, uint64_t seq);
  void configGet(std::span<const std::string_view> argv, std::string_view raw,
                 const std::shared_ptr<ReplyLink>& link, uint64_t seq);
  void split(const route::Plan& plan, const command::CommandSpec& spec, std::span<const std::string_view> argv,
             const std::shared_ptr<ReplyLink>& link, uint64_t seq);
  void fanOut(const route::Plan& plan, const command::CommandSpec& spec, std::span<const std::string_view> argv,
              std::string_view raw, const std::shared_ptr<ReplyLink>& link, uint64_t seq);
  void scan(std::span<const std::string_view> argv, const std::shared_ptr<ReplyLink>& link, uint64_t seq);
  // A lease of one command's life: a link with nothing in flight (a pre-connected spare when one
  // is ready), for what Redis serves while a script is busy (SCRIPT KILL, FUNCTION KILL).
  std::shared_ptr<ExclusiveLease> idleLink();

  Dispatcher& dispatcher_;
  LocalContext local_;
  const ProxyInfoSource* info_;
  std::mt19937 rng_;
};

}  // namespace slotgate::request
