// Slab blocks: distinct, aligned, reused once freed; a slab whose blocks are all free is given back
// (one spare kept per size); containers work over the allocator; blocks freed on another thread.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/slab_pool.h"

namespace slotgate::common {

TEST_CASE("slab blocks are distinct, aligned and reused", "[slab]") {
  std::vector<void*> blocks;
  std::set<void*> seen;
  for (int i = 0; i < 1000; ++i) {
    void* p = SlabPool::allocate(200);
    CHECK(reinterpret_cast<uintptr_t>(p) % 16 == 0);
    CHECK(seen.insert(p).second);
    std::memset(p, 0xab, 200);
    blocks.push_back(p);
  }
  void* last = blocks.back();
  SlabPool::deallocate(last, 200);
  blocks.pop_back();
  CHECK(SlabPool::allocate(208) == last);  // same size class: the freed block comes back
  blocks.push_back(last);
  for (void* p : blocks) SlabPool::deallocate(p, 200);
}

TEST_CASE("empty slabs are unmapped, one spare kept", "[slab]") {
  size_t before = SlabPool::mappedBytes();
  std::vector<void*> blocks;
  for (int i = 0; i < 5000; ++i) blocks.push_back(SlabPool::allocate(480));  // about 37 slabs
  size_t grown = SlabPool::mappedBytes() - before;
  CHECK(grown >= 5000 * 480);
  CHECK(grown <= 5000 * 480 * 12 / 10 + 2 * 64 * 1024);
  for (void* p : blocks) SlabPool::deallocate(p, 480);
  CHECK(SlabPool::mappedBytes() <= before + 64 * 1024);
}

TEST_CASE("containers and shared pointers over slab blocks, freed on another thread", "[slab]") {
  size_t before = SlabPool::mappedBytes();
  {
    std::map<int, int, std::less<>, SlabAllocator<std::pair<const int, int>>> m;
    for (int i = 0; i < 2000; ++i) m[i] = i * 2;
    CHECK(m.size() == 2000);
    CHECK(m[1999] == 3998);
    std::vector<std::shared_ptr<std::string>> shared;
    for (int i = 0; i < 2000; ++i) {
      shared.push_back(std::allocate_shared<std::string>(SlabAllocator<std::string>(), "client"));
    }
    std::thread other([moved = std::move(shared)]() mutable { moved.clear(); });
    other.join();
  }
  CHECK(SlabPool::mappedBytes() <= before + 2 * 64 * 1024);
}

}  // namespace slotgate::common
