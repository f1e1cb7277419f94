// What a client's state collaborators need of its session: places in the reply order and ways to
// fill them. Every reply, the state's own included, goes through the session's ordered queue.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace slotgate::state {

class ClientPort {
 public:
  virtual ~ClientPort() = default;
  // Reserves the next place in the reply order, for a reply that comes later.
  virtual uint64_t reserve() = 0;
  // Fills a reserved place.
  virtual void complete(uint64_t seq, std::string_view reply) = 0;
  // Answers the next place now.
  void reply(std::string_view reply) { complete(reserve(), reply); }
  // Replies that have not left yet.
  virtual size_t pending() const = 0;
  // A command that ran alone is over: the session may take the next one.
  virtual void resume() = 0;
  // No more commands: close once the replies are out (QUIT).
  virtual void closeAfterReplies() = 0;
};

}  // namespace slotgate::state
