// An allocator for objects made and freed many times a second on one thread (a request per
// command): single objects come from a per-thread free list instead of malloc. Use it with
// std::allocate_shared so the control block and the object share one pooled block.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace slotgate::common {

template <typename T>
class PoolAllocator {
 public:
  using value_type = T;

  PoolAllocator() = default;
  template <typename U>
  PoolAllocator(const PoolAllocator<U>&) noexcept {}

  T* allocate(size_t n) {
    auto& spare = FreeList::get().blocks;
    if (n == 1 && !spare.empty()) {
      void* block = spare.back();
      spare.pop_back();
      return static_cast<T*>(block);
    }
    return static_cast<T*>(::operator new(n * sizeof(T)));
  }

  void deallocate(T* p, size_t n) noexcept {
    auto& spare = FreeList::get().blocks;
    if (n == 1 && spare.size() < kMaxSpare) {
      spare.push_back(p);
      return;
    }
    ::operator delete(p);
  }

  template <typename U>
  bool operator==(const PoolAllocator<U>&) const noexcept {
    return true;
  }

 private:
  static constexpr size_t kMaxSpare = 4096;

  // One list per T and thread; the blocks go back to the system when the thread ends.
  struct FreeList {
    std::vector<void*> blocks;
    ~FreeList() {
      for (void* block : blocks) ::operator delete(block);
    }
    static FreeList& get() {
      thread_local FreeList list;
      return list;
    }
  };
};

}  // namespace slotgate::common
