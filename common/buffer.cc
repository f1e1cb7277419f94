#include "common/buffer.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <utility>

namespace slotgate::common {
namespace {

constexpr size_t kBlockSize = 16 * 1024;
constexpr size_t kReserveAhead = 4;           // times the bytes present
constexpr size_t kReserveFloor = 256 * 1024;  // reserved ahead whatever is present

}  // namespace

Buffer::~Buffer() { dropChunk(); }

Buffer::Buffer(Buffer&& other) noexcept { swap(other); }

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  Buffer tmp(std::move(other));
  swap(tmp);
  return *this;
}

void Buffer::swap(Buffer& other) noexcept {
  std::swap(chunk_, other.chunk_);
  std::swap(begin_, other.begin_);
  std::swap(end_, other.end_);
}

void Buffer::dropChunk() {
  if (chunk_) chunk_->unref();
  chunk_ = nullptr;
  begin_ = end_ = 0;
}

void Buffer::consume(size_t n) {
  begin_ += std::min(n, size());
  if (begin_ != end_) return;
  // Empty: start again at the front, unless a slice still covers those bytes.
  if (chunk_ && chunk_->shared()) return dropChunk();
  begin_ = end_ = 0;
}

void Buffer::clear() {
  if (chunk_ && chunk_->shared()) return dropChunk();
  begin_ = end_ = 0;
}

char* Buffer::prepare(size_t min_space, size_t* available) {
  size_t capacity = this->capacity();
  if (capacity - end_ < min_space) {
    size_t used = size();
    bool shared = chunk_ && chunk_->shared();
    if (!shared && begin_ > 0 && capacity - used >= min_space && used <= begin_) {
      // Cheap compaction: the bytes moved are no more than the bytes reclaimed.
      std::memmove(chunk_->data(), chunk_->data() + begin_, used);
    } else {
      // Off a chunk a slice still holds, take only what is needed: doubling is for growth.
      size_t want = std::max({shared ? 0 : capacity * 2, used + min_space, kBlockSize});
      Chunk* bigger = Chunk::allocate(want);
      if (used) std::memcpy(bigger->data(), chunk_->data() + begin_, used);
      if (chunk_) chunk_->unref();
      chunk_ = bigger;
    }
    begin_ = 0;
    end_ = used;
  }
  *available = this->capacity() - end_;
  return chunk_->data() + end_;
}

void Buffer::append(std::string_view bytes) {
  if (bytes.empty()) return;
  size_t available = 0;
  char* dst = prepare(bytes.size(), &available);
  std::memcpy(dst, bytes.data(), bytes.size());
  commit(bytes.size());
}

void Buffer::reserve(size_t total) {
  size_t used = size();
  total = std::min(total, std::max(used * kReserveAhead, kReserveFloor));
  if (total <= used || capacity() - begin_ >= total) return;
  Chunk* bigger = Chunk::allocate(total);
  if (used) std::memcpy(bigger->data(), chunk_->data() + begin_, used);
  if (chunk_) chunk_->unref();
  chunk_ = bigger;
  begin_ = 0;
  end_ = used;
}

Slice Buffer::share(std::string_view bytes) const {
  std::string_view mine = readable();
  std::less<const char*> before;
  if (!chunk_ || bytes.empty() || before(bytes.data(), mine.data()) ||
      before(mine.data() + mine.size(), bytes.data() + bytes.size())) {
    return {};
  }
  return Slice(chunk_, bytes);
}

void Buffer::shrinkIfIdle(size_t keep) {
  if (empty() && capacity() > keep) dropChunk();
}

}  // namespace slotgate::common
