#include "common/chunk.h"

#include <new>
#include <vector>

#include "common/buffer.h"

namespace slotgate::common {
namespace {

// A busy connection then allocates nothing per read or write, and an idle one holds no memory.
// 16 KB: the smallest buffer; 64 KB: a connection's read; 256 KB: a read into the loop's buffer.
constexpr size_t kSmallBlock = 16 * 1024;
constexpr size_t kReadBlock = 64 * 1024;
constexpr size_t kScratchBlock = 256 * 1024;
constexpr size_t kMaxSpareSmall = 256;  // 4 MB per thread at most
constexpr size_t kMaxSpareRead = 16;    // 1 MB
constexpr size_t kMaxSpareScratch = 4;  // 1 MB

struct SpareChunks {
  std::vector<Chunk*> small;
  std::vector<Chunk*> read;
  std::vector<Chunk*> scratch;
  ~SpareChunks() {
    for (auto* list : {&small, &read, &scratch}) {
      for (Chunk* c : *list) ::operator delete(c);
    }
  }
};
thread_local SpareChunks t_spare;

std::vector<Chunk*>* spareFor(size_t capacity, size_t* limit) {
  if (capacity == kSmallBlock) return *limit = kMaxSpareSmall, &t_spare.small;
  if (capacity == kReadBlock) return *limit = kMaxSpareRead, &t_spare.read;
  if (capacity == kScratchBlock) return *limit = kMaxSpareScratch, &t_spare.scratch;
  return nullptr;
}

thread_local const Buffer* t_received = nullptr;

}  // namespace

Chunk* Chunk::allocate(size_t capacity) {
  size_t limit = 0;
  if (auto* spare = spareFor(capacity, &limit); spare && !spare->empty()) {
    Chunk* chunk = spare->back();
    spare->pop_back();
    return new (chunk) Chunk(capacity);
  }
  return new (::operator new(sizeof(Chunk) + capacity)) Chunk(capacity);
}

void Chunk::release(Chunk* chunk) {
  size_t limit = 0;
  auto* spare = spareFor(chunk->capacity_, &limit);
  if (spare && spare->size() < limit) {
    spare->push_back(chunk);
    return;
  }
  ::operator delete(chunk);
}

ReceivedBytes::ReceivedBytes(const Buffer& in) : previous_(t_received) { t_received = &in; }

ReceivedBytes::~ReceivedBytes() { t_received = previous_; }

Slice ReceivedBytes::pin(std::string_view bytes) { return t_received ? t_received->share(bytes) : Slice(); }

}  // namespace slotgate::common
