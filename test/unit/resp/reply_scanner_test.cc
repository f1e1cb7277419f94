#include "proxy/resp/reply_scanner.h"

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <string_view>
#include <vector>

// Replies as Redis sends them (RESP2, and RESP3 after HELLO 3), examples from the RESP3 spec.

namespace slotgate::resp {
namespace {

using namespace std::string_literals;
using Status = ReplyScanner::Status;

const std::vector<std::string>& wellFormed() {
  static const std::vector<std::string> replies = {
      // RESP2
      "+OK\r\n",
      "+\r\n",
      "-ERR unknown command 'foo', with args beginning with: \r\n",
      "-MOVED 3999 127.0.0.1:6381\r\n",
      ":0\r\n",
      ":-9223372036854775808\r\n",
      "$5\r\nhello\r\n",
      "$0\r\n\r\n",
      "$-1\r\n",
      "$6\r\n\r\n\r\n\r\n\r\n",    // bulk data that looks like CRLFs
      "$8\r\n\0\r\n*1\r\n$\r\n"s,  // binary bulk with RESP look-alikes inside
      "*-1\r\n",
      "*0\r\n",
      "*2\r\n$3\r\nfoo\r\n$3\r\nbar\r\n",
      "*3\r\n:1\r\n*-1\r\n$-1\r\n",
      "*2\r\n*3\r\n:1\r\n:2\r\n:3\r\n*2\r\n+Foo\r\n-Bar\r\n",
      "*3\r\n*0\r\n*1\r\n*0\r\n*2\r\n*1\r\n*1\r\n:1\r\n$0\r\n\r\n",
      // CLUSTER SLOTS shaped
      "*1\r\n*4\r\n:0\r\n:5460\r\n*3\r\n$9\r\n127.0.0.1\r\n:30001\r\n$40\r\n"
      "09dbe9720cda62f7865eabc5fd8857c5d2678366\r\n*3\r\n$9\r\n127.0.0.1\r\n:30004\r\n$40\r\n"
      "821d8ca00d7ccf931ed3ffc7e3db0599d2271abf\r\n",
      // RESP3
      "_\r\n",
      ",1.23\r\n",
      ",-inf\r\n",
      "#t\r\n",
      "#f\r\n",
      "(3492890328409238509324850943850943825024385\r\n",
      "!21\r\nSYNTAX invalid syntax\r\n",
      "=15\r\ntxt:Some string\r\n",
      "%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n",
      "%0\r\n",
      "~3\r\n+orange\r\n+apple\r\n#t\r\n",
      ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n",
      "%1\r\n$1\r\nk\r\n*2\r\n%1\r\n+a\r\n_\r\n~0\r\n",
      // An attribute annotates the value after it; both are one reply.
      "|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n"
      "*2\r\n:2039123\r\n:9543892\r\n",
      "*2\r\n|1\r\n+ttl\r\n:3600\r\n$1\r\nv\r\n:7\r\n",
  };
  return replies;
}

// Scans growing prefixes of `reply` cut at `cuts`, as bytes arrive; returns the final status.
Status scanInPieces(ReplyScanner& scanner, std::string_view reply, const std::vector<size_t>& cuts) {
  for (size_t cut : cuts) {
    Status s = scanner.scan(reply.substr(0, cut));
    if (s != Status::kIncomplete) return s;
  }
  return scanner.scan(reply);
}

std::vector<size_t> everyByte(size_t n) {
  std::vector<size_t> cuts;
  for (size_t i = 0; i < n; ++i) cuts.push_back(i);
  return cuts;
}

std::vector<size_t> randomCuts(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<size_t> cuts;
  for (size_t at = 0; at < n; at += std::uniform_int_distribution<size_t>(1, 9)(rng)) cuts.push_back(at);
  return cuts;
}

}  // namespace

TEST_CASE("every well-formed reply is complete at exactly its length", "[reply_scanner]") {
  ReplyScanner scanner;  // one scanner for all: it must reset itself after each reply
  for (const std::string& reply : wellFormed()) {
    INFO(Catch::Detail::stringify(reply));
    REQUIRE(scanner.scan(reply) == Status::kComplete);
    CHECK(scanner.length() == reply.size());
    // Every proper prefix is incomplete.
    for (size_t n = 0; n < reply.size(); ++n) {
      ReplyScanner fresh;
      CHECK(fresh.scan(std::string_view(reply).substr(0, n)) == Status::kIncomplete);
    }
  }
}

TEST_CASE("a reply arriving byte by byte or in random pieces gives the same length", "[reply_scanner]") {
  ReplyScanner scanner;
  for (const std::string& reply : wellFormed()) {
    INFO(Catch::Detail::stringify(reply));
    REQUIRE(scanInPieces(scanner, reply, everyByte(reply.size())) == Status::kComplete);
    CHECK(scanner.length() == reply.size());
    for (uint32_t seed : {1u, 2u, 3u, 99u}) {
      INFO("seed " << seed);
      REQUIRE(scanInPieces(scanner, reply, randomCuts(reply.size(), seed)) == Status::kComplete);
      CHECK(scanner.length() == reply.size());
    }
  }
}

TEST_CASE("back-to-back replies: the scanner reports the first one's length", "[reply_scanner]") {
  const auto& replies = wellFormed();
  ReplyScanner scanner;
  std::string stream;
  for (const std::string& r : replies) stream += r;
  // Walk the stream reply by reply, as a backend connection does.
  std::string_view rest = stream;
  for (const std::string& r : replies) {
    INFO(Catch::Detail::stringify(r));
    REQUIRE(scanner.scan(rest) == Status::kComplete);
    CHECK(scanner.length() == r.size());
    rest.remove_prefix(scanner.length());
  }
  CHECK(rest.empty());
  // The same stream in pieces: bytes of the next reply may already be there.
  std::mt19937 rng(5);
  std::string_view all = stream;
  size_t start = 0, have = 0, index = 0;
  while (start < all.size()) {
    have = std::min(all.size(), have + std::uniform_int_distribution<size_t>(1, 13)(rng));
    while (start < have) {
      Status s = scanner.scan(all.substr(start, have - start));
      if (s == Status::kIncomplete) {
        REQUIRE(have < all.size());  // everything has arrived: it must complete
        break;
      }
      REQUIRE(s == Status::kComplete);
      REQUIRE(index < replies.size());
      CHECK(scanner.length() == replies[index].size());
      start += scanner.length();
      ++index;
    }
  }
  CHECK(index == replies.size());
}

TEST_CASE("deeply nested arrays", "[reply_scanner]") {
  std::string reply;
  for (int i = 0; i < 10000; ++i) reply += "*1\r\n";
  reply += ":1\r\n";
  ReplyScanner scanner;
  REQUIRE(scanner.scan(reply) == Status::kComplete);
  CHECK(scanner.length() == reply.size());
  REQUIRE(scanInPieces(scanner, reply, randomCuts(reply.size(), 8)) == Status::kComplete);
  CHECK(scanner.length() == reply.size());
}

TEST_CASE("malformed replies are kError, whole or in pieces", "[reply_scanner]") {
  const std::vector<std::string> malformed = {
      "x\r\n",
      "OK\r\n",
      "\r\n",
      "$abc\r\n",
      "$-2\r\n",
      "$\r\n",
      "$3\r\nfooXY",       // no CRLF after the declared length
      "$3\r\nfoobar\r\n",  // longer than declared
      "*abc\r\n",
      "*-2\r\n",
      "*2\r\n:1\r\n?\r\n",  // a bad element inside an aggregate
      "%1\r\n+k\r\n$x\r\n",
      "!3\r\nabcde\r\n",
      "=-7\r\n",
  };
  for (const std::string& reply : malformed) {
    INFO(Catch::Detail::stringify(reply));
    ReplyScanner scanner;
    CHECK(scanner.scan(reply) == Status::kError);
    ReplyScanner pieces;
    CHECK(scanInPieces(pieces, reply, everyByte(reply.size())) == Status::kError);
    // After an error the scanner starts afresh on the next reply.
    REQUIRE(scanner.scan("+OK\r\n") == Status::kComplete);
    CHECK(scanner.length() == 5);
  }
}

TEST_CASE("an incomplete bulk reply says how many bytes it needs", "[reply_scanner]") {
  ReplyScanner scanner;
  std::string reply = "$100000\r\n" + std::string(100000, 'v') + "\r\n";
  CHECK(scanner.scan(std::string_view(reply).substr(0, 3)) == ReplyScanner::Status::kIncomplete);
  CHECK(scanner.needed() == 0);  // the length is not known yet
  CHECK(scanner.scan(std::string_view(reply).substr(0, 70000)) == ReplyScanner::Status::kIncomplete);
  CHECK(scanner.needed() == reply.size());
  CHECK(scanner.scan(reply) == ReplyScanner::Status::kComplete);
  std::string nested = "*2\r\n:1\r\n$50000\r\n" + std::string(50000, 'w') + "\r\n";
  CHECK(scanner.scan(std::string_view(nested).substr(0, 20)) == ReplyScanner::Status::kIncomplete);
  CHECK(scanner.needed() == nested.size());
}

}  // namespace slotgate::resp
