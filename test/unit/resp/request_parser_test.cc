#include "proxy/resp/request_parser.h"

#include <catch2/catch.hpp>

#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/resp/writer.h"

// Expected behaviour and error texts are Redis 7.0's (networking.c processMultibulkBuffer /
// processInlineBuffer, sds.c sdssplitargs), checked against redis-server 7.0.15 where noted.

namespace slotgate::resp {
namespace {

using namespace std::string_literals;
using Args = std::vector<std::string>;

// One result of the parser, with arguments copied out so results of different feeds compare.
struct Parsed {
  ParseStatus status;
  Args args;
  size_t consumed = 0;
  bool is_inline = false;
  std::string error;
  bool operator==(const Parsed&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Parsed& p) {
  static const char* kNames[] = {"kIncomplete", "kCommand", "kEmpty", "kError"};
  os << kNames[static_cast<int>(p.status)] << (p.is_inline ? " inline" : "") << " consumed " << p.consumed;
  for (const std::string& a : p.args) os << " " << Catch::Detail::stringify(a);
  if (!p.error.empty()) os << " error \"" << p.error << "\"";
  return os;
}

// Feeds `input` in the given chunk sizes the way a session does: append what arrived, parse the
// unconsumed bytes until the parser wants more, drop what each result consumed. A trailing
// incomplete request shows up as a last kIncomplete entry whose `consumed` is the bytes left over.
std::vector<Parsed> feed(std::string_view input, const std::vector<size_t>& chunks, ParseLimits limits = {}) {
  RequestParser parser(limits);
  std::vector<Parsed> out;
  std::string buffer;
  size_t at = 0;
  for (size_t chunk : chunks) {
    buffer.append(input.substr(at, chunk));
    at += chunk;
    while (true) {
      ParseStatus status = parser.parse(buffer);
      if (status == ParseStatus::kIncomplete) break;
      Parsed p{status, {}, parser.consumed(), parser.isInline(), {}};
      if (status == ParseStatus::kError) {
        p.consumed = 0;  // meaningless after an error
        p.error = parser.error();
        out.push_back(p);
        return out;
      }
      if (status == ParseStatus::kCommand && p.is_inline) p.args = parser.inlineArgs();
      if (status == ParseStatus::kCommand && !p.is_inline) {
        for (const ArgRef& a : parser.args()) p.args.emplace_back(buffer.substr(a.offset, a.length));
      }
      out.push_back(p);
      buffer.erase(0, p.consumed);
    }
  }
  REQUIRE(at == input.size());
  if (!buffer.empty()) out.push_back({ParseStatus::kIncomplete, {}, buffer.size(), false, {}});
  return out;
}

std::vector<size_t> whole(std::string_view input) { return {input.size()}; }
std::vector<size_t> byteByByte(std::string_view input) { return std::vector<size_t>(input.size(), 1); }
std::vector<size_t> randomSplits(std::string_view input, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<size_t> chunks;
  for (size_t left = input.size(); left > 0;) {
    size_t n = std::min<size_t>(left, std::uniform_int_distribution<size_t>(1, 17)(rng));
    chunks.push_back(n);
    left -= n;
  }
  return chunks;
}

// Parses `input` whole, byte by byte and in random splits (several seeds); all must agree.
std::vector<Parsed> parseAllWays(std::string_view input, ParseLimits limits = {}) {
  std::vector<Parsed> reference = feed(input, whole(input), limits);
  CHECK(feed(input, byteByByte(input), limits) == reference);
  for (uint32_t seed : {1u, 2u, 3u, 42u, 1234u}) {
    INFO("seed " << seed);
    CHECK(feed(input, randomSplits(input, seed), limits) == reference);
  }
  return reference;
}

Parsed command(Args args, size_t consumed, bool is_inline = false) {
  return {ParseStatus::kCommand, std::move(args), consumed, is_inline, {}};
}
Parsed empty(size_t consumed, bool is_inline) { return {ParseStatus::kEmpty, {}, consumed, is_inline, {}}; }
Parsed error(std::string text) { return {ParseStatus::kError, {}, 0, false, std::move(text)}; }
Parsed errorInline(std::string text) { return {ParseStatus::kError, {}, 0, true, std::move(text)}; }
Parsed incomplete(size_t left) { return {ParseStatus::kIncomplete, {}, left, false, {}}; }

std::string mbulk(const Args& args) {
  std::string out;
  std::vector<std::string_view> argv(args.begin(), args.end());
  appendCommand(out, argv);
  return out;
}

}  // namespace

TEST_CASE("a multibulk request gives argument positions within its bytes", "[request_parser]") {
  const std::string req = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n";
  RequestParser parser;
  REQUIRE(parser.parse(req) == ParseStatus::kCommand);
  CHECK(parser.consumed() == req.size());
  CHECK_FALSE(parser.isInline());
  REQUIRE(parser.args().size() == 3);
  CHECK(parser.args()[0].offset == 8);
  CHECK(parser.args()[0].length == 3);
  CHECK(parser.args()[1].offset == 17);
  CHECK(parser.args()[2].offset == 24);
  CHECK(parser.args()[2].length == 5);
  CHECK(parseAllWays(req) == std::vector{command({"SET", "k", "value"}, req.size())});
}

TEST_CASE("inline requests, CRLF or bare LF", "[request_parser]") {
  CHECK(parseAllWays("SET a b\r\n") == std::vector{command({"SET", "a", "b"}, 9, true)});
  CHECK(parseAllWays("PING\n") == std::vector{command({"PING"}, 5, true)});
  const std::string spaced = "  get   \t key  \r\n";
  CHECK(parseAllWays(spaced) == std::vector{command({"get", "key"}, spaced.size(), true)});
  CHECK(parseAllWays("GET k") == std::vector{incomplete(5)});
}

TEST_CASE("pipelined requests in one buffer", "[request_parser]") {
  const std::string a = mbulk({"SET", "k", "v"});
  const std::string b = "GET k\r\n";
  const std::string c = mbulk({"MGET", "a", "b", "c"});
  const std::string partial = "*2\r\n$4\r\nECHO\r\n$5\r\nhel";
  const std::string input = a + b + "\r\n" + "*0\r\n" + c + "\n" + "*-1\r\n" + partial;
  CHECK(parseAllWays(input) == std::vector{
                                   command({"SET", "k", "v"}, a.size()),
                                   command({"GET", "k"}, b.size(), true),
                                   empty(2, true),
                                   empty(4, false),
                                   command({"MGET", "a", "b", "c"}, c.size()),
                                   empty(1, true),
                                   empty(5, false),
                                   incomplete(partial.size()),
                               });
}

TEST_CASE("binary arguments with CRLF, NUL and RESP look-alikes inside", "[request_parser]") {
  const Args args = {"SET", "a\r\nb", "\0\0\r\n*3\r\n$"s, "", std::string(300, '\xff')};
  const std::string req = mbulk(args);
  CHECK(parseAllWays(req + req) == std::vector{command(args, req.size()), command(args, req.size())});
}

TEST_CASE("empty requests are kEmpty", "[request_parser]") {
  // Redis skips a multibulk count <= 0 and an inline line with no arguments.
  for (std::string_view in : {"*0\r\n", "*-1\r\n", "*-5\r\n"}) {
    INFO(in);
    CHECK(parseAllWays(in) == std::vector{empty(in.size(), false)});
  }
  for (std::string_view in : {"\r\n", "\n", "   \r\n", " \t \n"}) {
    INFO(in);
    CHECK(parseAllWays(in) == std::vector{empty(in.size(), true)});
  }
}

TEST_CASE("max_bulk_len: at the bound and one past it", "[request_parser][limits]") {
  ParseLimits limits;
  limits.max_bulk_len = 10;
  const std::string at = mbulk({"SET", "k", std::string(10, 'x')});
  CHECK(parseAllWays(at, limits) == std::vector{command({"SET", "k", std::string(10, 'x')}, at.size())});
  CHECK(parseAllWays(mbulk({"SET", "k", std::string(11, 'x')}), limits) ==
        std::vector{error("invalid bulk length")});
  // The default is Redis's proto-max-bulk-len, 512 MB.
  const std::string max_header = "*1\r\n$536870912\r\n";
  CHECK(parseAllWays(max_header) == std::vector{incomplete(max_header.size())});
  CHECK(parseAllWays("*1\r\n$536870913\r\n") == std::vector{error("invalid bulk length")});
}

TEST_CASE("max_args: at the bound and one past it", "[request_parser][limits]") {
  ParseLimits limits;
  limits.max_args = 3;
  const std::string at = mbulk({"DEL", "a", "b"});
  CHECK(parseAllWays(at, limits) == std::vector{command({"DEL", "a", "b"}, at.size())});
  CHECK(parseAllWays(mbulk({"DEL", "a", "b", "c"}), limits) == std::vector{error("invalid multibulk length")});
  CHECK(parseAllWays("DEL a b\r\n", limits) == std::vector{command({"DEL", "a", "b"}, 9, true)});
  std::vector<Parsed> past = parseAllWays("DEL a b c\r\n", limits);
  REQUIRE(past.size() == 1);
  CHECK(past[0].status == ParseStatus::kError);
}

TEST_CASE("max_inline_len: inline line, multibulk count and bulk count", "[request_parser][limits]") {
  ParseLimits limits;
  limits.max_inline_len = 16;
  // An inline line of 16 bytes before its '\n' passes; 17 do not, however the bytes arrive.
  const std::string at = "ECHO " + std::string(10, 'x') + "\r\n";  // 15 + "\r\n"
  REQUIRE(at.find('\n') == 16);
  CHECK(parseAllWays(at, limits) == std::vector{command({"ECHO", std::string(10, 'x')}, 17, true)});
  CHECK(parseAllWays("ECHO " + std::string(11, 'x') + "\r\n", limits) ==
        std::vector{errorInline("too big inline request")});
  CHECK(parseAllWays(std::string(16, 'x'), limits) == std::vector{incomplete(16)});
  CHECK(parseAllWays(std::string(17, 'x'), limits) == std::vector{errorInline("too big inline request")});

  // A multibulk count line with no CRLF within the limit.
  CHECK(parseAllWays("*" + std::string(15, '1'), limits) == std::vector{incomplete(16)});
  CHECK(parseAllWays("*" + std::string(16, '1'), limits) == std::vector{error("too big mbulk count string")});
  // A bulk count line likewise (counted from its '$').
  CHECK(parseAllWays("*1\r\n$" + std::string(15, '1'), limits) == std::vector{incomplete(20)});
  CHECK(parseAllWays("*1\r\n$" + std::string(16, '1'), limits) == std::vector{error("too big bulk count string")});
}

TEST_CASE("malformed multibulk requests give Redis's protocol errors", "[request_parser]") {
  struct Case {
    std::string input;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"*abc\r\n", "invalid multibulk length"},
      {"*\r\n", "invalid multibulk length"},
      {"*+1\r\n", "invalid multibulk length"},
      {"*1x\r\n", "invalid multibulk length"},
      {"*99999999999999999999\r\n", "invalid multibulk length"},
      {"*2\r\n$3\r\nfoo\r\n:1\r\n", "expected '$', got ':'"},
      {"*1\r\nPING\r\n", "expected '$', got 'P'"},
      {"*1\r\n$-1\r\n", "invalid bulk length"},
      {"*1\r\n$-5\r\n", "invalid bulk length"},
      {"*1\r\n$abc\r\n", "invalid bulk length"},
      {"*1\r\n$\r\n", "invalid bulk length"},
      {"*1\r\n$+4\r\nPING\r\n", "invalid bulk length"},
      {"*1\r\n$99999999999999999999\r\n", "invalid bulk length"},
      {"*1\r\n$9223372036854775807\r\n", "invalid bulk length"},
      // The data is longer than declared: no CRLF where the bulk should end.
      {"*1\r\n$3\r\nfooXY\r\n", "bulk string not terminated by CRLF"},
      {"*2\r\n$3\r\nGET\r\n$1\r\nab\r\n", "bulk string not terminated by CRLF"},
  };
  for (const Case& c : cases) {
    INFO(c.input);
    CHECK(parseAllWays(c.input) == std::vector{error(c.error)});
  }
}

TEST_CASE("integers in headers are as strict as Redis's string2ll", "[request_parser]") {
  // Leading zeros and "-0" are not numbers to Redis's string2ll: redis-server 7.0.15 answers
  // "invalid multibulk length" / "invalid bulk length" to each of these. Forwarding them would
  // make the node drop the (shared) backend connection with a protocol error.
  CHECK(parseAllWays("*01\r\n$4\r\nPING\r\n") == std::vector{error("invalid multibulk length")});
  CHECK(parseAllWays("*-0\r\n") == std::vector{error("invalid multibulk length")});
  CHECK(parseAllWays("*1\r\n$04\r\nPING\r\n") == std::vector{error("invalid bulk length")});
  CHECK(parseAllWays("*1\r\n$-0\r\n\r\n") == std::vector{error("invalid bulk length")});
}

TEST_CASE("an error ends parsing: the request after it is not reached", "[request_parser]") {
  CHECK(parseAllWays("*abc\r\nPING\r\n") == std::vector{error("invalid multibulk length")});
  CHECK(parseAllWays("PING\r\n\"x\r\nPING\r\n") ==
        std::vector{command({"PING"}, 6, true), errorInline("unbalanced quotes in request")});
}

TEST_CASE("inline arguments are split exactly like sdssplitargs", "[request_parser][inline]") {
  struct Case {
    std::string line;
    Args args;
  };
  const std::vector<Case> cases = {
      {R"(set "a b" 'c d')", {"set", "a b", "c d"}},
      {R"("\x41\n")", {"A\n"}},
      {R"("\x4a\x4B\x00z")", {"JK\0z"s}},
      {R"('it\'s')", {"it's"}},
      {R"('\n\x41')", {R"(\n\x41)"}},  // single quotes: only \' is an escape
      {R"("\t\r\b\a\\\"\q")", {"\t\r\b\a\\\"q"}},
      {R"("\xZZ" "a\x4")", {"xZZ", "ax4"}},  // not two hex digits: \x is just 'x'
      {R"("" '')", {"", ""}},
      {R"(a"b c")", {"ab c"}},             // a quote inside a word opens a quoted part
      {"a\tb\x0b\fc", {"a", "b\x0b\fc"}},  // \v and \f: blanks between words, not inside one
      {"  lead  trail  ", {"lead", "trail"}},
      {"\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87 \"\xe9\x94\xae\"", {"\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87", "\xe9\x94\xae"}},
  };
  for (const Case& c : cases) {
    INFO(c.line);
    std::vector<std::string> out = {"stale"};
    REQUIRE(splitInlineArgs(c.line, &out));
    CHECK(out == c.args);
    const std::string req = c.line + "\r\n";
    CHECK(parseAllWays(req) == std::vector{command(c.args, req.size(), true)});
  }
}

TEST_CASE("inline quoting errors", "[request_parser][inline]") {
  for (std::string_view line : {R"("abc)", R"('abc)", R"(set "a b)", R"("a"b)", R"('a'b)", R"(x "a"'b')",
                                R"("ends with backslash\)", R"('it\')"}) {
    INFO(line);
    std::vector<std::string> out;
    CHECK_FALSE(splitInlineArgs(line, &out));
    const std::string req = std::string(line) + "\r\n";
    CHECK(parseAllWays(req) == std::vector{errorInline("unbalanced quotes in request")});
  }
  // A closing quote followed by a space (or the end) is fine.
  std::vector<std::string> out;
  CHECK(splitInlineArgs(R"("a" 'b')", &out));
  CHECK(out == Args{"a", "b"});
}

TEST_CASE("appendCommand round trip: random argv parse back identically", "[request_parser]") {
  for (uint32_t seed : {7u, 8u, 9u, 10u}) {
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    std::string input;
    std::vector<Parsed> expected;
    for (int n = 0; n < 50; ++n) {
      Args args(std::uniform_int_distribution<size_t>(1, 12)(rng));
      for (std::string& a : args) {
        a.resize(std::uniform_int_distribution<size_t>(0, 70)(rng));
        for (char& ch : a) ch = static_cast<char>(rng() & 0xff);
      }
      std::vector<std::string_view> argv(args.begin(), args.end());
      std::string one;
      std::vector<std::pair<uint32_t, uint32_t>> offsets;
      appendCommand(one, argv, &offsets);
      // appendCommand's offsets are the parser's ArgRefs.
      RequestParser parser;
      REQUIRE(parser.parse(one) == ParseStatus::kCommand);
      REQUIRE(parser.args().size() == offsets.size());
      for (size_t i = 0; i < offsets.size(); ++i) {
        CHECK(parser.args()[i].offset == offsets[i].first);
        CHECK(parser.args()[i].length == offsets[i].second);
      }
      expected.push_back(command(args, one.size()));
      input += one;
    }
    CHECK(feed(input, whole(input)) == expected);
    CHECK(feed(input, byteByByte(input)) == expected);
    CHECK(feed(input, randomSplits(input, seed)) == expected);
  }
}

TEST_CASE("an incomplete large argument says how many bytes the request needs", "[request_parser]") {
  RequestParser parser;
  std::string value(200000, 'v');
  std::string req = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$200000\r\n" + value + "\r\n";
  CHECK(parser.parse(std::string_view(req).substr(0, 3)) == ParseStatus::kIncomplete);
  CHECK(parser.needed() == 0);
  CHECK(parser.parse(std::string_view(req).substr(0, 5000)) == ParseStatus::kIncomplete);
  CHECK(parser.needed() == req.size());
  CHECK(parser.parse(req) == ParseStatus::kCommand);
  CHECK(parser.needed() == 0);
  parser.releaseIfIdle();
  CHECK(parser.parse(req) == ParseStatus::kCommand);
  CHECK(parser.args().size() == 3);
}

}  // namespace slotgate::resp
