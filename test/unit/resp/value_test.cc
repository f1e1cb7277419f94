#include "proxy/resp/value.h"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

#include "proxy/resp/reply_scanner.h"

namespace slotgate::resp {
namespace {

using namespace std::string_literals;
using Type = Value::Type;

Value decode(std::string_view bytes) {
  std::optional<Value> v = decodeValue(bytes);
  REQUIRE(v.has_value());
  return *v;
}

}  // namespace

TEST_CASE("RESP2 scalars", "[value]") {
  struct Case {
    std::string bytes;
    Type type;
    std::string str;
    int64_t integer;
  };
  const std::vector<Case> cases = {
      {"+OK\r\n", Type::kSimple, "OK", 0},
      {"+\r\n", Type::kSimple, "", 0},
      {"-ERR wrong number of arguments for 'get' command\r\n", Type::kError,
       "ERR wrong number of arguments for 'get' command", 0},
      {":0\r\n", Type::kInteger, "", 0},
      {":-42\r\n", Type::kInteger, "", -42},
      {":9223372036854775807\r\n", Type::kInteger, "", INT64_MAX},
      {"$5\r\nhello\r\n", Type::kBulk, "hello", 0},
      {"$0\r\n\r\n", Type::kBulk, "", 0},
      {"$7\r\na\r\n\0b\r\n\r\n"s, Type::kBulk, "a\r\n\0b\r\n"s, 0},
      {"$-1\r\n", Type::kNull, "", 0},
      {"*-1\r\n", Type::kNull, "", 0},
  };
  for (const Case& c : cases) {
    INFO(Catch::Detail::stringify(c.bytes));
    Value v = decode(c.bytes);
    CHECK(v.type == c.type);
    CHECK(v.str == c.str);
    CHECK(v.integer == c.integer);
    CHECK(v.elements.empty());
  }
  CHECK(decode("$3\r\nfoo\r\n").isString());
  CHECK_FALSE(decode(":1\r\n").isString());
}

TEST_CASE("RESP3 scalars", "[value]") {
  CHECK(decode("_\r\n").type == Type::kNull);
  Value d = decode(",3.14\r\n");
  CHECK(d.type == Type::kDouble);
  CHECK(d.str == "3.14");
  CHECK(decode(",-inf\r\n").str == "-inf");
  Value t = decode("#t\r\n");
  CHECK(t.type == Type::kBool);
  CHECK(t.integer == 1);
  CHECK(decode("#f\r\n").integer == 0);
  Value big = decode("(3492890328409238509324850943850943825024385\r\n");
  CHECK(big.type == Type::kBigNumber);
  CHECK(big.str == "3492890328409238509324850943850943825024385");
  Value blob_error = decode("!21\r\nSYNTAX invalid syntax\r\n");
  CHECK(blob_error.type == Type::kError);
  CHECK(blob_error.str == "SYNTAX invalid syntax");
  Value verbatim = decode("=15\r\ntxt:Some string\r\n");
  CHECK(verbatim.type == Type::kVerbatim);
  CHECK(verbatim.str == "txt:Some string");
  CHECK(verbatim.isString());
}

TEST_CASE("arrays, nested, with null and empty elements", "[value]") {
  Value v = decode("*4\r\n$3\r\nfoo\r\n$-1\r\n*0\r\n*2\r\n:1\r\n*1\r\n+deep\r\n");
  CHECK(v.type == Type::kArray);
  CHECK(v.isArray());
  REQUIRE(v.elements.size() == 4);
  CHECK(v.elements[0].str == "foo");
  CHECK(v.elements[1].type == Type::kNull);
  CHECK(v.elements[2].type == Type::kArray);
  CHECK(v.elements[2].elements.empty());
  REQUIRE(v.elements[3].elements.size() == 2);
  CHECK(v.elements[3].elements[0].integer == 1);
  REQUIRE(v.elements[3].elements[1].elements.size() == 1);
  CHECK(v.elements[3].elements[1].elements[0].str == "deep");

  std::string nested;
  for (int i = 0; i < 32; ++i) nested += "*1\r\n";
  nested += ":5\r\n";
  const Value* at = nullptr;
  Value deep = decode(nested);
  at = &deep;
  for (int i = 0; i < 32; ++i) {
    REQUIRE(at->elements.size() == 1);
    at = &at->elements[0];
  }
  CHECK(at->integer == 5);
}

TEST_CASE("RESP3 maps, sets, pushes and attributes", "[value]") {
  Value map = decode("%2\r\n+first\r\n:1\r\n$6\r\nsecond\r\n*1\r\n:2\r\n");
  CHECK(map.type == Type::kMap);
  CHECK_FALSE(map.isArray());
  REQUIRE(map.elements.size() == 4);  // key, value, key, value
  CHECK(map.elements[0].str == "first");
  CHECK(map.elements[1].integer == 1);
  CHECK(map.elements[2].str == "second");
  CHECK(map.elements[3].elements.at(0).integer == 2);
  CHECK(decode("%0\r\n").elements.empty());

  Value set = decode("~2\r\n+a\r\n#t\r\n");
  CHECK(set.type == Type::kSet);
  CHECK(set.isArray());
  CHECK(set.elements.size() == 2);

  Value push = decode(">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n");
  CHECK(push.type == Type::kPush);
  CHECK(push.isArray());
  REQUIRE(push.elements.size() == 3);
  CHECK(push.elements[2].str == "hello");

  // Attributes are skipped; the value they annotate is what decodes.
  Value annotated = decode("|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*2\r\n:1\r\n:2\r\n");
  CHECK(annotated.type == Type::kArray);
  CHECK(annotated.elements.size() == 2);
  Value inner = decode("*2\r\n|1\r\n+ttl\r\n:3600\r\n$1\r\nv\r\n:7\r\n");
  REQUIRE(inner.elements.size() == 2);
  CHECK(inner.elements[0].str == "v");
  CHECK(inner.elements[1].integer == 7);
}

TEST_CASE("malformed, truncated or trailing bytes decode to nullopt", "[value]") {
  for (std::string_view bytes :
       {"", "+OK", "+OK\r\nX", ":abc\r\n", ":\r\n", ":1.5\r\n", "x\r\n", "$abc\r\n", "$-2\r\n", "$5\r\nhel\r\n",
        "$3\r\nfoo", "$3\r\nfoobar\r\n", "*2\r\n:1\r\n", "*2\r\n:1\r\n:2\r\n:3\r\n", "*-2\r\n", "*x\r\n",
        "%1\r\n+k\r\n", "|1\r\n+a\r\n:1\r\n", "*1\r\n?\r\n"}) {
    INFO(Catch::Detail::stringify(std::string(bytes)));
    CHECK_FALSE(decodeValue(bytes).has_value());
  }
  // Nesting far deeper than any real reply is refused, not a stack overflow.
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "*1\r\n";
  deep += ":1\r\n";
  CHECK_FALSE(decodeValue(deep).has_value());
}

TEST_CASE("decodeValue rejects what ReplyScanner rejects", "[value]") {
  // A bulk ('$', '!', '=') must end with CRLF right after its declared length, as ReplyScanner
  // requires.
  CHECK_FALSE(decodeValue("$3\r\nfooXY").has_value());
  CHECK_FALSE(decodeValue("*1\r\n$3\r\nfooXY").has_value());
  // A RESP3 boolean is #t or #f, nothing else.
  CHECK_FALSE(decodeValue("#x\r\n").has_value());
  // An aggregate count larger than the bytes present is malformed, and must neither throw nor
  // allocate for the announced count.
  CHECK_NOTHROW(decodeValue("*9223372036854775807\r\n"));
  CHECK_FALSE(decodeValue("*3\r\n").has_value());
}

}  // namespace slotgate::resp
