#include <catch2/catch.hpp>

#include "proxy/request/script_cache.h"

using slotgate::request::ScriptCache;

TEST_CASE("scripts are found by their SHA-1, any case", "[scripts]") {
  ScriptCache cache(10);
  std::string sha = cache.remember("return 1");
  CHECK(sha == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");  // redis-cli SCRIPT LOAD "return 1"
  REQUIRE(cache.find(sha) == std::optional<std::string>("return 1"));
  CHECK(cache.find("E0E1F9FABFC9D4800C877A703B823AC0578FF8DB").has_value());
  CHECK_FALSE(cache.find(std::string(40, '0')).has_value());
  cache.clear();
  CHECK_FALSE(cache.find(sha).has_value());
}

TEST_CASE("the least recently used script leaves first", "[scripts]") {
  ScriptCache cache(2);
  std::string a = cache.remember("return 'a'");
  std::string b = cache.remember("return 'b'");
  REQUIRE(cache.find(a));  // a is now the most recent
  std::string c = cache.remember("return 'c'");
  CHECK(cache.find(a));
  CHECK_FALSE(cache.find(b));
  CHECK(cache.find(c));
  CHECK(cache.size() == 2);
  ScriptCache none(0);
  none.remember("return 1");
  CHECK(none.size() == 0);
}
