#include "proxy/request/multi_request.h"

#include <algorithm>

#include "proxy/resp/errors.h"
#include "proxy/resp/writer.h"

namespace slotgate::request {

std::string PartLabel::text() const { return slot >= 0 ? "keys in slot " + std::to_string(slot) : "node " + node; }

MultiRequest::MultiRequest(std::shared_ptr<ReplyLink> client, uint64_t seq, std::vector<PartLabel> labels,
                           MergeFn merge, bool tolerate_errors)
    : client_(std::move(client)), seq_(seq), labels_(std::move(labels)), merge_(std::move(merge)),
      tolerate_errors_(tolerate_errors), replies_(labels_.size()), done_(labels_.size(), false),
      remaining_(labels_.size()) {
  link_.script_lane = client_->script_lane;  // the parts take the lanes the client's commands take
}

void MultiRequest::deliver(uint64_t part, std::string_view reply) {
  if (part >= done_.size() || done_[part]) return;
  done_[part] = true;
  replies_[part].assign(reply);
  if (--remaining_ == 0) finish();
}

void MultiRequest::finish() {
  if (!client_->target) return;  // the client left; the parts still ran
  client_->target->addBackendTime(seq_, backend_us_);
  if (!tolerate_errors_) {
    auto failed = std::find_if(replies_.begin(), replies_.end(),
                               [](const std::string& r) { return r.empty() || r[0] == '-'; });
    if (failed != replies_.end()) {
      // Every part refused alike (a syntax error, one node asked): the node's words are the answer.
      bool all_same =
          std::all_of(replies_.begin(), replies_.end(), [&](const std::string& r) { return r == *failed; });
      if (all_same) {
        client_->target->deliver(seq_, *failed);
        return;
      }
      size_t i = static_cast<size_t>(failed - replies_.begin());
      std::string_view text(*failed);
      text = text.substr(1, text.size() - 3);
      std::string out =
          resp::errorReply(fmt::runtime(resp::err::kPartFailed), text, i + 1, replies_.size(), labels_[i].text());
      client_->target->deliver(seq_, out);
      return;
    }
  }
  std::string merged = merge_(replies_);
  client_->target->deliver(seq_, merged);
}

}  // namespace slotgate::request
