// What a client's state collaborators need of its session: places in the reply order and ways to
// fill them. Every reply, the state's own included, goes through the session's ordered queue.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace slotgate::state {

// CLIENT REPLY: kOn shows every reply, kOff none, kSkip drops the next command's.
enum class ReplyMode : uint8_t { kOn, kOff, kSkip };

class ClientPort {
 public:
  virtual ~ClientPort() = default;
  // Reserves the next place in the reply order, for a reply that comes later. The current
  // command's reply mode applies: a place of a command CLIENT REPLY silences drops its reply.
  virtual uint64_t reserve() = 0;
  // Reserves a place that is shown whatever CLIENT REPLY says (pub/sub confirmations and
  // messages, which Redis pushes past it).
  virtual uint64_t reservePush() = 0;
  // Fills a reserved place.
  virtual void complete(uint64_t seq, std::string_view reply) = 0;
  // Answers the next place now.
  void reply(std::string_view reply) { complete(reserve(), reply); }
  // Pushes a pub/sub confirmation or message now.
  void push(std::string_view reply) { complete(reservePush(), reply); }
  // CLIENT REPLY ON|OFF|SKIP, from the command being handled on: ON shows this command's own
  // reply; OFF and SKIP silence it (SKIP also the next command's).
  virtual void setReplyMode(ReplyMode mode) = 0;
  // Replies that have not left yet.
  virtual size_t pending() const = 0;
  // A command that ran alone is over: the session may take the next one.
  virtual void resume() = 0;
  // No more commands: close once the replies are out (QUIT).
  virtual void closeAfterReplies() = 0;
  // CLIENT KILL: close now, after what is already written.
  virtual void kill() = 0;
};

}  // namespace slotgate::state
