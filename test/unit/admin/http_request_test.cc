#include <catch2/catch.hpp>

#include <string>

#include "proxy/admin/http_request.h"

using namespace slotgate::admin;
using Status = HttpParse::Status;

namespace {

HttpParse parse(const std::string& text, HttpRequest* request = nullptr) {
  HttpRequest scratch;
  return parseHttpRequest(text, request ? request : &scratch);
}

int errorStatus(const std::string& text) {
  HttpParse p = parse(text);
  return p.status == Status::kError ? p.error_status : 0;
}

}  // namespace

TEST_CASE("a well-formed GET is read with its path and query", "[admin]") {
  HttpRequest r;
  std::string text = "GET /metrics?x=1 HTTP/1.1\r\nHost: localhost:9121\r\nUser-Agent: curl\r\n\r\nextra";
  HttpParse p = parse(text, &r);
  REQUIRE(p.status == Status::kComplete);
  CHECK(p.consumed == text.size() - 5);
  CHECK(r.method == "GET");
  CHECK(r.path == "/metrics");
  CHECK(r.query == "x=1");
  CHECK(r.minor_version == 1);
}

TEST_CASE("HTTP/1.0 needs no Host; leading empty lines are skipped", "[admin]") {
  HttpRequest r;
  HttpParse p = parse("\r\nGET /healthz HTTP/1.0\r\n\r\n", &r);
  REQUIRE(p.status == Status::kComplete);
  CHECK(r.path == "/healthz");
  CHECK(r.minor_version == 0);
}

TEST_CASE("a request cut anywhere is incomplete, never an error", "[admin]") {
  std::string text = "GET /readyz HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n";
  for (size_t n = 0; n < text.size(); ++n) {
    INFO("prefix of " << n << " bytes");
    CHECK(parse(text.substr(0, n)).status == Status::kIncomplete);
  }
  CHECK(parse(text).status == Status::kComplete);
}

TEST_CASE("malformed requests get the matching status", "[admin]") {
  CHECK(errorStatus("GET\r\n\r\n") == 400);
  CHECK(errorStatus("GET /a\r\n\r\n") == 400);
  CHECK(errorStatus("GET  /a HTTP/1.1\r\nHost: a\r\n\r\n") == 400);  // double space
  CHECK(errorStatus("GET /a HTTP/1.1 x\r\nHost: a\r\n\r\n") == 400);
  CHECK(errorStatus("G(T /a HTTP/1.1\r\nHost: a\r\n\r\n") == 400);          // not a token
  CHECK(errorStatus("GET a HTTP/1.1\r\nHost: a\r\n\r\n") == 400);           // not a path
  CHECK(errorStatus("GET http://x/a HTTP/1.1\r\nHost: a\r\n\r\n") == 400);  // absolute form
  CHECK(errorStatus("GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(errorStatus("GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(errorStatus("GET /a HTTP/1.x\r\nHost: a\r\n\r\n") == 400);
  CHECK(errorStatus("GET /a HTTX/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(errorStatus("GET /a HTTP/2.0\r\nHost: a\r\n\r\n") == 505);
  CHECK(errorStatus("GET /a HTTP/1.1\r\n\r\n") == 400);            // no Host
  CHECK(errorStatus("GET /a HTTP/1.1\r\nHost a\r\n\r\n") == 400);  // no colon
  CHECK(errorStatus("GET /a HTTP/1.1\r\nHo st: a\r\n\r\n") == 400);
  CHECK(errorStatus("GET /a HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n") == 400);
  CHECK(errorStatus("GET /a HTTP/1.1\r\nHost: a\nX: b\r\n\r\n") == 400);  // bare LF
  CHECK(errorStatus("GET /a HTTP/1.1\nHost: a\n\n") == 400);
  CHECK(errorStatus("GET /a HTTP/1.1\r\nHost: a\x01\r\n\r\n") == 400);
  CHECK(errorStatus("POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello") == 501);
  CHECK(errorStatus("POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n") == 501);
}

TEST_CASE("oversized requests are refused before they are complete", "[admin]") {
  CHECK(errorStatus("GET /" + std::string(kMaxRequestLine + 10, 'a')) == 414);
  std::string many = "GET /a HTTP/1.1\r\nHost: a\r\n";
  while (many.size() <= kMaxHeaderBytes) many += "X-Filler: " + std::string(100, 'b') + "\r\n";
  CHECK(errorStatus(many) == 431);
  CHECK(errorStatus(many + "\r\n") == 431);
}

TEST_CASE("binary junk is an error, not a crash", "[admin]") {
  std::string junk;
  for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>((i * 7919) & 0xff));
  for (size_t n = 0; n < junk.size(); n += 97) {
    HttpParse p = parse(junk.substr(0, n));
    CHECK(p.status != Status::kComplete);
  }
}
