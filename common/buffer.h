// A growable byte buffer with a read and a write end: sockets read into its tail, parsers consume
// from its head. Consumed space is reclaimed by moving the unread bytes to the front only when that
// is cheap relative to what was consumed, so a large value arriving in pieces is not copied often.
// The storage is a refcounted Chunk (common/chunk.h): share() hands out Slices of the bytes read,
// and while one is alive the bytes it covers are never moved or overwritten (the buffer moves on
// to a new chunk instead). Storage of the common sizes is recycled through a per-thread free list.
#pragma once

#include <cstddef>
#include <string_view>

#include "common/chunk.h"

namespace slotgate::common {

class Buffer {
 public:
  Buffer() = default;
  ~Buffer();
  Buffer(Buffer&&) noexcept;
  Buffer& operator=(Buffer&&) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  std::string_view readable() const { return {chunk_ ? chunk_->data() + begin_ : nullptr, end_ - begin_}; }
  size_t size() const { return end_ - begin_; }
  bool empty() const { return end_ == begin_; }
  size_t capacity() const { return chunk_ ? chunk_->capacity() : 0; }

  void consume(size_t n);
  void clear();

  // Room for at least `min_space` more bytes at the tail; returns where to write and how much fits.
  char* prepare(size_t min_space, size_t* available);
  void commit(size_t n) { end_ += n; }
  void append(std::string_view bytes);
  // Makes room for `total` unread bytes in all (a value whose length is known), so that it arrives
  // without the buffer growing (and copying) step by step. The length is the peer's word, not a
  // promise: at most a few times what has arrived is reserved ahead.
  void reserve(size_t total);

  // A Slice of `bytes` if they lie in this buffer's unread bytes, else an empty one.
  Slice share(std::string_view bytes) const;

  // Gives back memory held beyond `keep` bytes of capacity while the buffer is empty.
  void shrinkIfIdle(size_t keep);
  void swap(Buffer& other) noexcept;

 private:
  void dropChunk();

  Chunk* chunk_ = nullptr;
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace slotgate::common
