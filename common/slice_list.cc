#include "common/slice_list.h"

#include <algorithm>
#include <utility>

namespace slotgate::common {

void SliceList::add(const Buffer& out, Slice slice) {
  size_t before = out.size() - before_total_;
  before_total_ += before;
  bytes_ += slice.size();
  entries_.push_back({before, std::move(slice)});
}

size_t SliceList::gather(const Buffer& out, IoVec* vecs, size_t max) const {
  std::string_view copied = out.readable();
  size_t count = 0;
  for (const Entry& entry : entries_) {
    if (entry.before > 0) {
      if (count == max) return count;
      vecs[count++] = {copied.data(), entry.before};
      copied.remove_prefix(entry.before);
    }
    if (count == max) return count;
    vecs[count++] = {entry.slice.view().data(), entry.slice.size()};
  }
  if (!copied.empty() && count < max) vecs[count++] = {copied.data(), copied.size()};
  return count;
}

void SliceList::consume(Buffer& out, size_t n) {
  while (n > 0 && !entries_.empty()) {
    Entry& head = entries_.front();
    size_t copied = std::min(n, head.before);
    out.consume(copied);
    head.before -= copied;
    before_total_ -= copied;
    n -= copied;
    if (head.before > 0) return;
    size_t sliced = std::min(n, head.slice.size());
    head.slice.advance(sliced);
    bytes_ -= sliced;
    n -= sliced;
    if (head.slice.size() > 0) return;
    entries_.pop_front();
  }
  out.consume(n);
}

void SliceList::clear() {
  entries_.clear();
  before_total_ = 0;
  bytes_ = 0;
}

void SliceList::swap(SliceList& other) noexcept {
  entries_.swap(other.entries_);
  std::swap(before_total_, other.before_total_);
  std::swap(bytes_, other.bytes_);
}

}  // namespace slotgate::common
