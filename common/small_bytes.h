// A byte string kept inline up to kInline bytes and on the heap beyond: most commands are short,
// and a request should not need a second allocation for them.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace slotgate::common {

template <size_t kInline>
class SmallBytes {
 public:
  SmallBytes() = default;
  explicit SmallBytes(std::string_view bytes) { assign(bytes); }
  SmallBytes(const SmallBytes&) = delete;
  SmallBytes& operator=(const SmallBytes&) = delete;

  void assign(std::string_view bytes) {
    size_ = bytes.size();
    if (size_ <= kInline) {
      heap_.reset();
      std::memcpy(inline_, bytes.data(), size_);
    } else {
      heap_ = std::make_unique_for_overwrite<char[]>(size_);
      std::memcpy(heap_.get(), bytes.data(), size_);
    }
  }

  std::string_view view() const { return {heap_ ? heap_.get() : inline_, size_}; }
  size_t size() const { return size_; }

 private:
  size_t size_ = 0;
  std::unique_ptr<char[]> heap_;
  char inline_[kInline];
};

}  // namespace slotgate::common
