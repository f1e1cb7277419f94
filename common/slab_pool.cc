#include "common/slab_pool.h"

#include <sys/mman.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>

namespace slotgate::common {
namespace {

constexpr size_t kSlabBytes = 64 * 1024;
constexpr size_t kGrain = 16;
constexpr size_t kClasses = SlabPool::kMaxBlock / kGrain;

struct FreeBlock {
  FreeBlock* next;
};

struct SizeClass;

// At the start of each slab (slabs are aligned to their size: a block finds its slab by masking).
struct alignas(kGrain) Slab {
  SizeClass* owner;
  Slab* prev;  // in the class's list of slabs with room
  Slab* next;
  FreeBlock* free;
  size_t carved;  // blocks handed out from the untouched end so far (pages are touched lazily)
  size_t live;
  size_t capacity;
  bool listed;
};

std::atomic<size_t> g_mapped{0};

Slab* mapSlab() {
  // Twice the size, then the unaligned ends are given back.
  void* raw = mmap(nullptr, 2 * kSlabBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  auto start = reinterpret_cast<uintptr_t>(raw);
  uintptr_t aligned = (start + kSlabBytes - 1) & ~(uintptr_t{kSlabBytes} - 1);
  if (aligned > start) munmap(raw, aligned - start);
  uintptr_t end = start + 2 * kSlabBytes;
  if (end > aligned + kSlabBytes)
    munmap(reinterpret_cast<void*>(aligned + kSlabBytes), end - aligned - kSlabBytes);
  g_mapped += kSlabBytes;
  return reinterpret_cast<Slab*>(aligned);
}

void unmapSlab(Slab* slab) {
  munmap(slab, kSlabBytes);
  g_mapped -= kSlabBytes;
}

struct SizeClass {
  std::mutex mutex;
  size_t block = 0;
  Slab* room = nullptr;   // slabs with a free or uncarved block
  Slab* spare = nullptr;  // one empty slab kept, so a client coming and going maps nothing

  void link(Slab* slab) {
    slab->prev = nullptr;
    slab->next = room;
    if (room) room->prev = slab;
    room = slab;
    slab->listed = true;
  }
  void unlink(Slab* slab) {
    if (slab->prev) slab->prev->next = slab->next;
    if (slab->next) slab->next->prev = slab->prev;
    if (room == slab) room = slab->next;
    slab->prev = slab->next = nullptr;
    slab->listed = false;
  }

  void* take() {
    std::lock_guard lock(mutex);
    Slab* slab = room;
    if (!slab) {
      slab = spare ? spare : mapSlab();
      spare = nullptr;
      if (!slab) return nullptr;
      if (slab->owner != this) {
        *slab = Slab{this, nullptr, nullptr, nullptr, 0, 0, (kSlabBytes - sizeof(Slab)) / block, false};
      }
      link(slab);
    }
    void* p;
    if (slab->free) {
      p = slab->free;
      slab->free = slab->free->next;
    } else {
      p = reinterpret_cast<char*>(slab) + sizeof(Slab) + slab->carved * block;
      ++slab->carved;
    }
    ++slab->live;
    if (!slab->free && slab->carved == slab->capacity) unlink(slab);
    return p;
  }

  void give(Slab* slab, void* p) {
    std::lock_guard lock(mutex);
    auto* freed = static_cast<FreeBlock*>(p);
    freed->next = slab->free;
    slab->free = freed;
    --slab->live;
    if (!slab->listed) link(slab);
    if (slab->live > 0) return;
    unlink(slab);
    if (spare) {
      unmapSlab(slab);
    } else {
      // Reset, so its pages are carved again from the start.
      slab->free = nullptr;
      slab->carved = 0;
      spare = slab;
    }
  }
};

struct Classes {
  std::array<SizeClass, kClasses> all;
  Classes() {
    for (size_t i = 0; i < kClasses; ++i) all[i].block = (i + 1) * kGrain;
  }
};

std::array<SizeClass, kClasses>& classes() {
  // Never destroyed: blocks may be given back by static destructors after this one would run.
  static Classes* made = new Classes;
  return made->all;
}

}  // namespace

void* SlabPool::allocate(size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (bytes > kMaxBlock) return ::operator new(bytes);
  void* p = classes()[(bytes - 1) / kGrain].take();
  if (!p) throw std::bad_alloc();
  return p;
}

void SlabPool::deallocate(void* p, size_t bytes) noexcept {
  if (!p) return;
  if (bytes == 0) bytes = 1;
  if (bytes > kMaxBlock) return ::operator delete(p);
  auto* slab = reinterpret_cast<Slab*>(reinterpret_cast<uintptr_t>(p) & ~(uintptr_t{kSlabBytes} - 1));
  classes()[(bytes - 1) / kGrain].give(slab, p);
}

size_t SlabPool::mappedBytes() { return g_mapped.load(); }

}  // namespace slotgate::common
