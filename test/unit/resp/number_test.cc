#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include "proxy/resp/number.h"

using slotgate::resp::parseInt;

TEST_CASE("parseInt accepts exactly Redis's string2ll spellings", "[number]") {
  int64_t v = 0;
  CHECK((parseInt("0", &v) && v == 0));
  CHECK((parseInt("7", &v) && v == 7));
  CHECK((parseInt("-1", &v) && v == -1));
  CHECK((parseInt("536870912", &v) && v == 536870912));
  CHECK((parseInt("9223372036854775807", &v) && v == INT64_MAX));
  CHECK((parseInt("-9223372036854775808", &v) && v == INT64_MIN));
  for (std::string bad : {"", "-", "+1", " 1", "1 ", "01", "-0", "-01", "1a", "9223372036854775808",
                          "-9223372036854775809", "99999999999999999999", "123456789012345678901", "0x10"}) {
    INFO(bad);
    CHECK_FALSE(parseInt(bad, &v));
  }
}
