// A connection's output when large values are among it: the copied bytes stay in the output
// Buffer, and each Slice is queued with how many of those bytes go before it. Bytes appended to
// the Buffer after the last slice follow it. gather() lists the pieces in order for one writev.
#pragma once

#include <cstddef>
#include <deque>

#include "common/buffer.h"
#include "common/chunk.h"

namespace slotgate::common {

struct IoVec {
  const char* data;
  size_t size;
};

class SliceList {
 public:
  bool empty() const { return entries_.empty(); }
  // Bytes in the slices (the Buffer's are counted by the Buffer).
  size_t bytes() const { return bytes_; }
  // At most how many pieces gather() can fill.
  size_t maxPieces() const { return entries_.size() * 2 + 1; }
  // Queues `slice` after everything in `out` so far.
  void add(const Buffer& out, Slice slice);
  // Fills up to `max` entries of `vecs` with `out`'s bytes and the slices, in order; returns how
  // many were filled.
  size_t gather(const Buffer& out, IoVec* vecs, size_t max) const;
  // `n` bytes were written: consumes them from `out` and the slices.
  void consume(Buffer& out, size_t n);
  void clear();
  void swap(SliceList& other) noexcept;

 private:
  struct Entry {
    size_t before;  // bytes of the Buffer that go before the slice
    Slice slice;
  };
  std::deque<Entry> entries_;
  size_t before_total_ = 0;  // sum of the entries' `before`
  size_t bytes_ = 0;
};

}  // namespace slotgate::common
