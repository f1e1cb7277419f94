#include "common/buffer.h"

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

namespace slotgate::common {
namespace {

// Buffers of the common size come from, and go back to, a per-thread free list: a busy connection
// then allocates nothing per read or write, and an idle one holds no memory (see shrinkIfIdle).
constexpr size_t kBlockSize = 16 * 1024;
constexpr size_t kMaxSpareBlocks = 256;  // 4 MB per thread at most

struct SpareBlocks {
  std::vector<std::unique_ptr<char[]>> blocks;
};
thread_local SpareBlocks t_spare;

std::unique_ptr<char[]> allocate(size_t size) {
  if (size == kBlockSize && !t_spare.blocks.empty()) {
    auto block = std::move(t_spare.blocks.back());
    t_spare.blocks.pop_back();
    return block;
  }
  return std::make_unique_for_overwrite<char[]>(size);
}

void release(std::unique_ptr<char[]> data, size_t capacity) {
  if (data && capacity == kBlockSize && t_spare.blocks.size() < kMaxSpareBlocks) {
    t_spare.blocks.push_back(std::move(data));
  }
}

}  // namespace

Buffer::~Buffer() { release(std::move(data_), capacity_); }

Buffer::Buffer(Buffer&& other) noexcept { swap(other); }

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  Buffer tmp(std::move(other));
  swap(tmp);
  return *this;
}

void Buffer::swap(Buffer& other) noexcept {
  std::swap(data_, other.data_);
  std::swap(capacity_, other.capacity_);
  std::swap(begin_, other.begin_);
  std::swap(end_, other.end_);
}

void Buffer::consume(size_t n) {
  begin_ += std::min(n, size());
  if (begin_ == end_) begin_ = end_ = 0;
}

char* Buffer::prepare(size_t min_space, size_t* available) {
  if (capacity_ - end_ < min_space) {
    size_t used = size();
    if (begin_ > 0 && capacity_ - used >= min_space && used <= begin_) {
      // Cheap compaction: the bytes moved are no more than the bytes reclaimed.
      std::memmove(data_.get(), data_.get() + begin_, used);
    } else {
      size_t want = std::max({capacity_ * 2, used + min_space, kBlockSize});
      auto bigger = allocate(want);
      if (used) std::memcpy(bigger.get(), data_.get() + begin_, used);
      release(std::move(data_), capacity_);
      data_ = std::move(bigger);
      capacity_ = want;
    }
    begin_ = 0;
    end_ = used;
  }
  *available = capacity_ - end_;
  return data_.get() + end_;
}

void Buffer::append(std::string_view bytes) {
  if (bytes.empty()) return;
  size_t available = 0;
  char* dst = prepare(bytes.size(), &available);
  std::memcpy(dst, bytes.data(), bytes.size());
  commit(bytes.size());
}

void Buffer::shrinkIfIdle(size_t keep) {
  if (empty() && capacity_ > keep) {
    release(std::move(data_), capacity_);
    data_.reset();
    capacity_ = begin_ = end_ = 0;
  }
}

}  // namespace slotgate::common
