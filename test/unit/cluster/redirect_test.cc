#include "proxy/cluster/redirect.h"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace slotgate::cluster {
namespace {

using Kind = Redirect::Kind;

struct Case {
  std::string_view error;  // the error reply's text, without '-' and CRLF
  Kind kind;
  int slot;
  std::string host;
  int port;
};

}  // namespace

TEST_CASE("MOVED and ASK with every address form", "[redirect]") {
  const std::vector<Case> cases = {
      {"MOVED 3999 127.0.0.1:6381", Kind::kMoved, 3999, "127.0.0.1", 6381},
      {"ASK 3999 127.0.0.1:6381", Kind::kAsk, 3999, "127.0.0.1", 6381},
      {"MOVED 0 10.0.0.1:1", Kind::kMoved, 0, "10.0.0.1", 1},
      {"MOVED 16383 10.0.0.1:65535", Kind::kMoved, 16383, "10.0.0.1", 65535},
      // cluster-announce-hostname / cluster-preferred-endpoint-type hostname
      {"MOVED 12182 redis-node-3.redis.svc.cluster.local:6379", Kind::kMoved, 12182,
       "redis-node-3.redis.svc.cluster.local", 6379},
      {"ASK 1 node-a:7000", Kind::kAsk, 1, "node-a", 7000},
      // IPv6 as Redis sends it: unbracketed, the port after the last ':'
      {"MOVED 866 ::1:6380", Kind::kMoved, 866, "::1", 6380},
      {"MOVED 866 2001:db8::ff00:42:8329:7001", Kind::kMoved, 866, "2001:db8::ff00:42:8329", 7001},
      {"ASK 866 fe80::1:30001", Kind::kAsk, 866, "fe80::1", 30001},
      // and bracketed
      {"MOVED 866 [::1]:6380", Kind::kMoved, 866, "::1", 6380},
      {"ASK 5 [2001:db8::1]:7000", Kind::kAsk, 5, "2001:db8::1", 7000},
      // Empty host: the node that sent the redirect (cluster-preferred-endpoint-type
      // unknown-endpoint)
      {"MOVED 3999 :6380", Kind::kMoved, 3999, "", 6380},
      {"ASK 3999 :6380", Kind::kAsk, 3999, "", 6380},
  };
  for (const Case& c : cases) {
    INFO(c.error);
    std::optional<Redirect> r = parseRedirect(c.error);
    REQUIRE(r.has_value());
    CHECK(r->kind == c.kind);
    CHECK(r->slot == c.slot);
    CHECK(r->host == c.host);
    CHECK(r->port == c.port);
  }
}

TEST_CASE("TRYAGAIN", "[redirect]") {
  for (std::string_view text : {"TRYAGAIN Multiple keys request during rehashing of slot", "TRYAGAIN"}) {
    INFO(text);
    std::optional<Redirect> r = parseRedirect(text);
    REQUIRE(r.has_value());
    CHECK(r->kind == Kind::kTryAgain);
  }
}

TEST_CASE("malformed redirects and other errors are not redirects", "[redirect]") {
  for (std::string_view text : {
           // bad slot
           "MOVED 16384 127.0.0.1:6379",
           "MOVED -1 127.0.0.1:6379",
           "MOVED abc 127.0.0.1:6379",
           "MOVED 12x 127.0.0.1:6379",
           "MOVED  127.0.0.1:6379",
           "MOVED 99999999999999999999 h:1",
           "ASK 16384 127.0.0.1:6379",
           "MOVED +5 127.0.0.1:6379",
           // bad or missing port
           "MOVED 1 127.0.0.1:0",
           "MOVED 1 127.0.0.1:65536",
           "MOVED 1 127.0.0.1:",
           "MOVED 1 127.0.0.1",
           "MOVED 1 127.0.0.1:http",
           "MOVED 1 127.0.0.1:-1",
           "ASK 1 [::1]",
           "MOVED 1 h:6379 extra",
           // truncated
           "MOVED",
           "MOVED ",
           "MOVED 1",
           "ASK",
           "ASK 1",
           // other errors
           "ERR unknown command 'foo'",
           "CROSSSLOT Keys in request don't hash to the same slot",
           "CLUSTERDOWN Hash slot not served",
           "LOADING Redis is loading the dataset in memory",
           "WRONGTYPE Operation against a key holding the wrong kind of value",
           "",
           "moved 1 h:1",
           "ASKING",
           "MOVEDX 1 h:1",
           "ERR MOVED 1 h:1",
       }) {
    INFO(text);
    CHECK_FALSE(parseRedirect(text).has_value());
  }
}

}  // namespace slotgate::cluster
