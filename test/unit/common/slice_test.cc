#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <string_view>

#include "common/buffer.h"
#include "common/chunk.h"
#include "common/slice_list.h"

namespace slotgate::common {
namespace {

std::string pattern(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i % 23);
  return s;
}

// What a writev of `vecs` would send.
std::string joined(const IoVec* vecs, size_t count) {
  std::string s;
  for (size_t i = 0; i < count; ++i) s.append(vecs[i].data, vecs[i].size);
  return s;
}

TEST_CASE("a slice keeps its bytes while the buffer consumes, reads on and compacts") {
  Buffer in;
  std::string value = pattern(40000, 'a');
  in.append(value);
  in.append("tail");
  Slice slice = in.share(in.readable().substr(0, value.size()));
  REQUIRE(slice);
  in.consume(value.size());
  // Room at the tail is fine to use; compaction or reuse of the front is not.
  for (int i = 0; i < 50; ++i) {
    in.append(pattern(3000, 'x'));
    in.consume(2500);
  }
  in.consume(in.size());
  in.append(pattern(100, 'q'));
  CHECK(slice.view() == value);
}

TEST_CASE("a slice outlives the buffer it came from") {
  Slice slice;
  std::string value = pattern(20000, 'b');
  {
    Buffer in;
    in.append(value);
    slice = in.share(in.readable());
    in.clear();
    in.append(pattern(20000, 'z'));  // must not land on the shared bytes
  }
  CHECK(slice.view() == value);
  Slice copy = slice;
  slice = Slice();
  CHECK(copy.view() == value);
}

TEST_CASE("share gives nothing for bytes outside the buffer's unread bytes") {
  Buffer in;
  in.append("hello world");
  std::string other = "hello";
  CHECK_FALSE(in.share(other));
  CHECK_FALSE(in.share(std::string_view()));
  std::string_view r = in.readable();
  CHECK(in.share(r.substr(6)).view() == "world");
  in.consume(6);
  CHECK_FALSE(in.share(r.substr(0, 5)));  // consumed already
  Buffer empty;
  CHECK_FALSE(empty.share(r));
}

TEST_CASE("ReceivedBytes pins only within the innermost scope's buffer") {
  Buffer outer;
  outer.append("outer bytes");
  Buffer inner;
  inner.append("inner bytes");
  CHECK_FALSE(ReceivedBytes::pin(outer.readable()));
  {
    ReceivedBytes a(outer);
    CHECK(ReceivedBytes::pin(outer.readable()).view() == "outer bytes");
    {
      ReceivedBytes b(inner);
      CHECK_FALSE(ReceivedBytes::pin(outer.readable()));
      CHECK(ReceivedBytes::pin(inner.readable().substr(0, 5)).view() == "inner");
    }
    CHECK(ReceivedBytes::pin(outer.readable()));
  }
  CHECK_FALSE(ReceivedBytes::pin(outer.readable()));
}

TEST_CASE("reserve makes room for a known length, bounded by what has arrived") {
  Buffer in;
  in.append(pattern(60000, 'c'));
  in.reserve(100000);
  CHECK(in.capacity() >= 100000);
  const char* start = in.readable().data();
  size_t available = 0;
  in.prepare(40000, &available);
  in.commit(40000);
  CHECK(in.readable().data() == start);  // no growth, no copy
  Buffer hostile;
  hostile.append("$100000000\r\n");
  hostile.reserve(100000000);
  CHECK(hostile.capacity() <= 1024 * 1024);
}

TEST_CASE("a slice list writes copied bytes and slices in the order they were queued") {
  Buffer source;
  std::string big1 = pattern(30000, 'd');
  std::string big2 = pattern(25000, 'e');
  source.append(big1);
  source.append(big2);
  Slice s1 = source.share(source.readable().substr(0, big1.size()));
  Slice s2 = source.share(source.readable().substr(big1.size()));
  source.clear();

  Buffer out;
  SliceList list;
  out.append("+OK\r\n");
  list.add(out, s1);
  list.add(out, s2);  // nothing copied between the two
  out.append(":1\r\n");
  list.add(out, s1);
  out.append("+END\r\n");
  std::string expected = "+OK\r\n" + big1 + big2 + ":1\r\n" + big1 + "+END\r\n";
  CHECK(list.bytes() == big1.size() * 2 + big2.size());

  IoVec vecs[16];
  size_t count = list.gather(out, vecs, 16);
  CHECK(count <= list.maxPieces());
  CHECK(joined(vecs, count) == expected);

  // Written in uneven pieces, as the kernel takes them: what is gathered next is what is left.
  std::mt19937 rng(7);
  std::string written;
  while (!list.empty() || !out.empty()) {
    count = list.gather(out, vecs, 3);
    std::string next = joined(vecs, count);
    size_t n = std::min<size_t>(next.size(), 1 + rng() % 20000);
    written += next.substr(0, n);
    list.consume(out, n);
  }
  CHECK(written == expected);
  CHECK(list.bytes() == 0);
}

TEST_CASE("a slice list with nothing copied after it, and bytes appended during a write") {
  Buffer source;
  source.append(pattern(20000, 'f'));
  Slice s = source.share(source.readable());
  Buffer out;
  SliceList list;
  list.add(out, s);
  IoVec vecs[4];
  REQUIRE(list.gather(out, vecs, 4) == 1);
  list.consume(out, 100);
  out.append("after");  // follows the slice
  std::string left = joined(vecs, list.gather(out, vecs, 4));
  CHECK(left == std::string(s.view().substr(100)) + "after");
}

}  // namespace
}  // namespace slotgate::common
