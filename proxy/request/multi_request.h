// A client command carried out as several node commands (split by slot, or fanned out), whose
// replies are combined into one. Each part is an ordinary Request whose reply comes back here
// instead of to the session; when the last part is in, the parts are merged and the one reply goes
// to the client's place in its ordered queue. If a part failed (and the merge does not tolerate
// that), the client gets that part's error, saying which part it was, never a half-filled reply;
// when every part gave the same error (one part, or a syntax error every node saw), that error as
// the node wrote it.
#pragma once

#include <algorithm>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "proxy/request/request.h"

namespace slotgate::request {

// Names a part in an error: the slot its keys hash to, or the node it was sent to. Made into
// text only when an error needs it.
struct PartLabel {
  int slot = -1;
  std::string node;  // when not a slot
  std::string text() const;
};

class MultiRequest : public ReplyTarget, public std::enable_shared_from_this<MultiRequest> {
 public:
  // Combines the parts' replies (in part order) into the client's reply.
  using MergeFn = std::function<std::string(std::span<const std::string> parts)>;

  // `labels[i]` names part i in an error.
  MultiRequest(std::shared_ptr<ReplyLink> client, uint64_t seq, std::vector<PartLabel> labels, MergeFn merge,
               bool tolerate_errors);

  // The link part `i` reports through (as its sequence number `i`); it keeps this alive.
  std::shared_ptr<ReplyLink> partLink() { return std::shared_ptr<ReplyLink>(shared_from_this(), &link_); }

  void deliver(uint64_t part, std::string_view reply) override;
  // The parts ran side by side: the slowest one is the command's time at the nodes.
  void addBackendTime(uint64_t, uint64_t micros) override { backend_us_ = std::max(backend_us_, micros); }

 private:
  void finish();

  ReplyLink link_{this};
  std::shared_ptr<ReplyLink> client_;
  uint64_t seq_;
  std::vector<PartLabel> labels_;
  MergeFn merge_;
  bool tolerate_errors_;
  std::vector<std::string> replies_;
  std::vector<bool> done_;
  size_t remaining_;
  uint64_t backend_us_ = 0;
};

}  // namespace slotgate::request
