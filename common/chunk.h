// A refcounted block of bytes: the storage a Buffer reads into. A Slice is a view of bytes in a
// chunk that keeps the chunk alive, so a large value received once can be forwarded (written with
// writev) or kept for a resend without being copied. Refcounts are not atomic: chunks and slices
// stay on the thread (worker loop) that made them.
//
// While a handler looks at bytes it was just given (a client's request, a node's reply), a
// ReceivedBytes scope names the buffer they lie in; whoever wants to keep a large part of them
// pins it there (a Slice) instead of copying it. Bytes not in that buffer pin to an empty Slice.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

namespace slotgate::common {

class Buffer;

// Below this a value is copied, as before: copying small things is cheaper than tracking them.
constexpr size_t kSliceMinBytes = 16 * 1024;

class Chunk {
 public:
  // Storage of the buffers' common sizes is recycled through a per-thread free list.
  static Chunk* allocate(size_t capacity);
  void ref() { ++refs_; }
  void unref() {
    if (--refs_ == 0) release(this);
  }
  bool shared() const { return refs_ > 1; }
  size_t capacity() const { return capacity_; }
  char* data() { return reinterpret_cast<char*>(this + 1); }

 private:
  explicit Chunk(size_t capacity) : capacity_(capacity) {}
  static void release(Chunk* chunk);

  uint32_t refs_ = 1;
  size_t capacity_;
};

class Slice {
 public:
  Slice() = default;
  // `bytes` lie in `chunk`; takes a reference.
  Slice(Chunk* chunk, std::string_view bytes) : chunk_(chunk), data_(bytes.data()), size_(bytes.size()) {
    if (chunk_) chunk_->ref();
  }
  ~Slice() {
    if (chunk_) chunk_->unref();
  }
  Slice(const Slice& other) : Slice(other.chunk_, other.view()) {}
  Slice(Slice&& other) noexcept { swap(other); }
  Slice& operator=(Slice other) noexcept {
    swap(other);
    return *this;
  }
  void swap(Slice& other) noexcept {
    std::swap(chunk_, other.chunk_);
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
  }

  explicit operator bool() const { return chunk_ != nullptr; }
  std::string_view view() const { return {data_, size_}; }
  size_t size() const { return size_; }
  // Drops the first `n` bytes (written already).
  void advance(size_t n) {
    data_ += n;
    size_ -= n;
  }

 private:
  Chunk* chunk_ = nullptr;
  const char* data_ = nullptr;
  size_t size_ = 0;
};

class ReceivedBytes {
 public:
  explicit ReceivedBytes(const Buffer& in);
  ~ReceivedBytes();
  ReceivedBytes(const ReceivedBytes&) = delete;
  ReceivedBytes& operator=(const ReceivedBytes&) = delete;

  // A Slice of `bytes` if they lie in the innermost scope's buffer, else an empty one.
  static Slice pin(std::string_view bytes);

 private:
  const Buffer* previous_;
};

}  // namespace slotgate::common
