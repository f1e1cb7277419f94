#include "proxy/resp/reply_scanner.h"

#include "proxy/resp/number.h"

namespace slotgate::resp {

void ReplyScanner::reset() {
  pos_ = 0;
  pending_.clear();
  started_ = false;
}

ReplyScanner::Status ReplyScanner::scan(std::string_view data) {
  if (!started_) {
    reset();
    started_ = true;
  }
  needed_ = 0;
  while (true) {
    if (pos_ >= data.size()) return Status::kIncomplete;
    size_t cr = data.find("\r\n", pos_);
    if (cr == std::string_view::npos) return Status::kIncomplete;
    char type = data[pos_];
    std::string_view line = data.substr(pos_ + 1, cr - pos_ - 1);
    size_t next = cr + 2;
    int64_t children = 0;
    switch (type) {
      case '+':
      case '-':
      case ':':
      case '_':
      case ',':
      case '#':
      case '(':
        break;
      case '$':
      case '!':
      case '=': {
        int64_t len = 0;
        if (!parseInt(line, &len) || len < -1) return reset(), Status::kError;
        if (len >= 0) {
          next += static_cast<size_t>(len) + 2;
          if (data.size() < next) return needed_ = next, Status::kIncomplete;
          if (data[next - 2] != '\r' || data[next - 1] != '\n') return reset(), Status::kError;
        }
        break;
      }
      case '*':
      case '~':
      case '>':
      case '%':
      case '|': {
        int64_t count = 0;
        if (!parseInt(line, &count) || count < -1) return reset(), Status::kError;
        if (count > 0) children = (type == '%' || type == '|') ? count * 2 : count;
        // An attribute map is followed by the value it describes.
        if (type == '|') children += 1;
        break;
      }
      default:
        return reset(), Status::kError;
    }
    pos_ = next;
    if (children > 0) {
      pending_.push_back(children);
      continue;
    }
    // One value done: close every aggregate it completes.
    while (!pending_.empty() && --pending_.back() == 0) pending_.pop_back();
    if (pending_.empty()) {
      length_ = pos_;
      started_ = false;
      return Status::kComplete;
    }
  }
}

}  // namespace slotgate::resp
