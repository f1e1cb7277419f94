// A growable byte buffer with a read and a write end: sockets read into its tail, parsers consume
// from its head. Consumed space is reclaimed by moving the unread bytes to the front only when that
// is cheap relative to what was consumed, so a large value arriving in pieces is not copied often.
// Storage of the common size (16 KB) is recycled through a per-thread free list.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

namespace slotgate::common {

class Buffer {
 public:
  Buffer() = default;
  ~Buffer();
  Buffer(Buffer&&) noexcept;
  Buffer& operator=(Buffer&&) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  std::string_view readable() const { return {data_.get() + begin_, end_ - begin_}; }
  size_t size() const { return end_ - begin_; }
  bool empty() const { return end_ == begin_; }
  size_t capacity() const { return capacity_; }

  void consume(size_t n);
  void clear() { begin_ = end_ = 0; }

  // Room for at least `min_space` more bytes at the tail; returns where to write and how much fits.
  char* prepare(size_t min_space, size_t* available);
  void commit(size_t n) { end_ += n; }
  void append(std::string_view bytes);

  // Gives back memory held beyond `keep` bytes of capacity while the buffer is empty.
  void shrinkIfIdle(size_t keep);
  void swap(Buffer& other) noexcept;

 private:
  std::unique_ptr<char[]> data_;
  size_t capacity_ = 0;
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace slotgate::common
