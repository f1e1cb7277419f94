// Blocks for objects that live long and come in thousands (one per client: its registry entry,
// its parked form). They are carved from 64 KB slabs mapped apart from the general heap, so they
// do not pin the pages that the clients' short-lived sessions and buffers give back, and a slab
// whose blocks are all free is unmapped. Thread-safe: a client's entry may be let go on another
// thread than the one that made it. Sizes are rounded up to 16 bytes; larger than kMaxBlock, the
// general heap is used.
#pragma once

#include <cstddef>
#include <new>

namespace slotgate::common {

class SlabPool {
 public:
  static constexpr size_t kMaxBlock = 512;
  static void* allocate(size_t bytes);
  static void deallocate(void* p, size_t bytes) noexcept;
  // Bytes of slabs mapped now (for tests and the memory figures).
  static size_t mappedBytes();
};

// The standard allocator interface over SlabPool (for allocate_shared, maps, vectors).
template <typename T>
class SlabAllocator {
 public:
  using value_type = T;
  static_assert(alignof(T) <= 16, "slab blocks are 16-byte aligned");

  SlabAllocator() = default;
  template <typename U>
  SlabAllocator(const SlabAllocator<U>&) noexcept {}

  T* allocate(size_t n) { return static_cast<T*>(SlabPool::allocate(n * sizeof(T))); }
  void deallocate(T* p, size_t n) noexcept { SlabPool::deallocate(p, n * sizeof(T)); }

  template <typename U>
  bool operator==(const SlabAllocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace slotgate::common
