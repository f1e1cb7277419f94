#include "proxy/request/id_learning_link.h"

#include <string>

#include "proxy/resp/number.h"

namespace slotgate::request {
namespace {

constexpr std::string_view kClientId = "*2\r\n$6\r\nCLIENT\r\n$2\r\nID\r\n";

// Takes the first reply (CLIENT ID's) for the lease; the rest, or the failure, are the command's.
class IdWaiter final : public backend::Waiter {
 public:
  IdWaiter(backend::WaiterPtr inner, std::shared_ptr<int64_t> id) : inner_(std::move(inner)), id_(std::move(id)) {}

  void onReply(std::string_view reply) override {
    if (!got_id_) {
      got_id_ = true;
      int64_t value = 0;
      bool integer = reply.size() > 3 && reply[0] == ':';
      *id_ = integer && resp::parseInt(reply.substr(1, reply.size() - 3), &value) && value > 0 ? value : 0;
      return;
    }
    if (inner_) inner_->onReply(reply);
  }
  void onFailure(backend::Failure failure, const std::string& node, const std::string& detail) override {
    if (!got_id_) *id_ = 0;  // ask again on the next send
    if (inner_) inner_->onFailure(failure, node, detail);
  }

 private:
  backend::WaiterPtr inner_;
  std::shared_ptr<int64_t> id_;
  bool got_id_ = false;
};

}  // namespace

void IdLearningLink::send(backend::WaiterPtr waiter, std::string_view command, bool asking, uint64_t extra_ms,
                          unsigned replies) {
  if (!wanted_ || *id_ != 0) return link_.send(std::move(waiter), command, asking, extra_ms, replies);
  *id_ = -1;
  std::string both(kClientId);
  both += command;
  link_.send(std::make_shared<IdWaiter>(std::move(waiter), id_), both, asking, extra_ms, replies + 1);
}

}  // namespace slotgate::request
