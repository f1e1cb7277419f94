// Finds where one reply from a node ends, without building it: the proxy forwards most replies as
// bytes and needs only their extent and their type. Handles RESP2 and RESP3 types, nested to any
// depth, and resumes where it stopped when a reply arrives in pieces.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace slotgate::resp {

class ReplyScanner {
 public:
  enum class Status : uint8_t { kIncomplete, kComplete, kError };

  // `data` starts at the reply's first byte (the same start on every call until kComplete).
  Status scan(std::string_view data);
  // kComplete: the reply's length in bytes.
  size_t length() const { return length_; }
  // kIncomplete: the bytes the reply needs at least, when a bulk's length says so (else 0).
  size_t needed() const { return needed_; }

 private:
  void reset();

  size_t pos_ = 0;
  std::vector<int64_t> pending_;  // elements still expected at each open aggregate level
  bool started_ = false;
  size_t length_ = 0;
  size_t needed_ = 0;
};

}  // namespace slotgate::resp
