// The TLS filter over memory BIOs, both ends in one process: no sockets, no event loop. The
// certificates are made here with OpenSSL (a CA, a server certificate for 127.0.0.1, a client
// certificate, and a second CA nobody trusts).
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

#include "common/tls/tls_context.h"

using slotgate::common::Buffer;
using slotgate::common::ByteFilter;
using slotgate::common::tls::TlsContext;
using slotgate::common::tls::TlsContextPtr;
using slotgate::common::tls::TlsSettings;

namespace {

struct Pair {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
};

void addExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  REQUIRE(ext);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A certificate for `cn`, signed by `ca` (self-signed when null), valid from `from_days` to `to_days`.
Pair issue(const char* cn, const Pair* ca, const char* san, long from_days = -1, long to_days = 30) {
  static long serial = 1;
  Pair out;
  out.key = EVP_EC_gen("P-256");
  out.cert = X509_new();
  X509_set_version(out.cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(out.cert), serial++);
  X509_gmtime_adj(X509_getm_notBefore(out.cert), from_days * 86400);
  X509_gmtime_adj(X509_getm_notAfter(out.cert), to_days * 86400);
  X509_set_pubkey(out.cert, out.key);
  X509_NAME* name = X509_get_subject_name(out.cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509* issuer = ca ? ca->cert : out.cert;
  X509_set_issuer_name(out.cert, X509_get_subject_name(issuer));
  if (!ca) {
    addExtension(out.cert, issuer, NID_basic_constraints, "critical,CA:TRUE");
    addExtension(out.cert, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else if (san) {
    addExtension(out.cert, issuer, NID_subject_alt_name, san);
  }
  X509_sign(out.cert, ca ? ca->key : out.key, EVP_sha256());
  return out;
}

std::string writeFile(const std::string& name, const Pair& pair, bool key) {
  std::string path = "/tmp/slotgate-tls-test-" + std::to_string(getpid()) + "-" + name;
  std::FILE* f = std::fopen(path.c_str(), "w");
  REQUIRE(f);
  if (key) {
    PEM_write_PrivateKey(f, pair.key, nullptr, nullptr, 0, nullptr, nullptr);
  } else {
    PEM_write_X509(f, pair.cert);
  }
  std::fclose(f);
  return path;
}

struct Files {
  std::string ca, other_ca, server_crt, server_key, client_crt, client_key, expired_crt, expired_key;
  Files() {
    Pair ca = issue("test CA", nullptr, nullptr);
    Pair other = issue("other CA", nullptr, nullptr);
    Pair server = issue("node", &ca, "IP:127.0.0.1,DNS:node.test");
    Pair client = issue("slotgate", &ca, "DNS:slotgate.test");
    Pair expired = issue("old node", &ca, "IP:127.0.0.1", -30, -1);
    this->ca = writeFile("ca.crt", ca, false);
    other_ca = writeFile("other.crt", other, false);
    server_crt = writeFile("server.crt", server, false);
    server_key = writeFile("server.key", server, true);
    client_crt = writeFile("client.crt", client, false);
    client_key = writeFile("client.key", client, true);
    expired_crt = writeFile("expired.crt", expired, false);
    expired_key = writeFile("expired.key", expired, true);
    for (Pair* p : {&ca, &other, &server, &client, &expired}) {
      X509_free(p->cert);
      EVP_PKEY_free(p->key);
    }
  }
  ~Files() {
    for (const std::string& path :
         {ca, other_ca, server_crt, server_key, client_crt, client_key, expired_crt, expired_key}) {
      std::remove(path.c_str());
    }
  }
};

const Files& files() {
  static Files f;
  return f;
}

TlsContextPtr serverContext(bool verify_clients = false, bool expired = false) {
  TlsSettings s;
  s.cert_file = expired ? files().expired_crt : files().server_crt;
  s.key_file = expired ? files().expired_key : files().server_key;
  s.ca_file = files().ca;
  s.verify_peer = verify_clients;
  std::vector<std::string> problems;
  auto ctx = TlsContext::server(s, &problems);
  INFO(problems.size());
  REQUIRE(ctx);
  return ctx;
}

TlsContextPtr clientContext(const std::string& ca, bool with_cert = false) {
  TlsSettings s;
  s.ca_file = ca;
  if (with_cert) {
    s.cert_file = files().client_crt;
    s.key_file = files().client_key;
  }
  std::vector<std::string> problems;
  auto ctx = TlsContext::client(s, &problems);
  REQUIRE(ctx);
  return ctx;
}

// Moves bytes both ways until neither side has anything to say; false when a side failed.
struct Link {
  std::unique_ptr<ByteFilter> client, server;
  Buffer client_plain, server_plain;  // what each side received
  bool client_closed = false, server_closed = false;
  bool failed = false;

  bool pump(Buffer& client_out, Buffer& server_out) {
    for (int round = 0; round < 20; ++round) {
      bool moved = false;
      if (!client->seal(client_out)) return fail();
      if (!client_out.empty()) {
        moved = true;
        if (!server->receive(client_out.readable(), server_plain, &server_closed)) return fail();
        client_out.clear();
      }
      if (!server->seal(server_out)) return fail();
      if (!server_out.empty()) {
        moved = true;
        if (!client->receive(server_out.readable(), client_plain, &client_closed)) return fail();
        server_out.clear();
      }
      if (!moved) return true;
    }
    return true;
  }
  bool fail() {
    failed = true;
    return false;
  }
};

Link connect(const TlsContextPtr& client_ctx, const TlsContextPtr& server_ctx, const std::string& host) {
  Link link;
  link.client = client_ctx->newFilter(host);
  link.server = server_ctx->newFilter();
  REQUIRE(link.client->start());
  return link;
}

}  // namespace

TEST_CASE("TLS filter: handshake, then bytes both ways; bytes written early wait for it") {
  auto link = connect(clientContext(files().ca), serverContext(), "127.0.0.1");
  Buffer client_out, server_out;
  client_out.append("*1\r\n$4\r\nPING\r\n");  // before the handshake: held, then sent
  REQUIRE(link.pump(client_out, server_out));
  CHECK(link.client->established());
  CHECK(link.server->established());
  CHECK(link.server_plain.readable() == "*1\r\n$4\r\nPING\r\n");
  server_out.append("+PONG\r\n");
  REQUIRE(link.pump(client_out, server_out));
  CHECK(link.client_plain.readable() == "+PONG\r\n");

  // A large value crosses in many records, intact.
  std::string big(3 * 1024 * 1024 + 17, 'x');
  for (size_t i = 0; i < big.size(); i += 4099) big[i] = static_cast<char>('a' + i % 26);
  link.server_plain.clear();
  client_out.append(big);
  REQUIRE(link.pump(client_out, server_out));
  CHECK(link.server_plain.readable() == big);
}

TEST_CASE("TLS filter: a DNS name in the certificate is checked too") {
  auto link = connect(clientContext(files().ca), serverContext(), "node.test");
  Buffer a, b;
  REQUIRE(link.pump(a, b));
  CHECK(link.client->established());
}

TEST_CASE("TLS filter: a server certificate from an untrusted CA is refused, with the reason") {
  auto link = connect(clientContext(files().other_ca), serverContext(), "127.0.0.1");
  Buffer a, b;
  CHECK_FALSE(link.pump(a, b));
  CHECK_FALSE(link.client->established());
  CHECK(link.client->error().find("certificate verify failed") != std::string::npos);
}

TEST_CASE("TLS filter: a certificate for another address is refused, naming the one expected") {
  auto link = connect(clientContext(files().ca), serverContext(), "10.1.2.3");
  Buffer a, b;
  CHECK_FALSE(link.pump(a, b));
  CHECK(link.client->error().find("IP address mismatch") != std::string::npos);
  CHECK(link.client->error().find("expected 10.1.2.3") != std::string::npos);
}

TEST_CASE("TLS filter: an expired server certificate is refused as expired") {
  auto link = connect(clientContext(files().ca), serverContext(false, true), "127.0.0.1");
  Buffer a, b;
  CHECK_FALSE(link.pump(a, b));
  CHECK(link.client->error().find("expired") != std::string::npos);
}

TEST_CASE("TLS filter: mutual TLS refuses a client without a certificate, accepts one with") {
  {
    auto link = connect(clientContext(files().ca), serverContext(true), "127.0.0.1");
    Buffer a, b;
    a.append("*1\r\n$4\r\nPING\r\n");
    CHECK_FALSE(link.pump(a, b));
    CHECK(link.server_plain.empty());
  }
  auto link = connect(clientContext(files().ca, true), serverContext(true), "127.0.0.1");
  Buffer a, b;
  a.append("*1\r\n$4\r\nPING\r\n");
  REQUIRE(link.pump(a, b));
  CHECK(link.server_plain.readable() == "*1\r\n$4\r\nPING\r\n");
}

TEST_CASE("TLS filter: a clean close from the peer is reported as closed") {
  auto link = connect(clientContext(files().ca), serverContext(), "127.0.0.1");
  Buffer a, b;
  REQUIRE(link.pump(a, b));
  // No API sends close_notify (connections just close), so only check nothing is reported early.
  CHECK_FALSE(link.client_closed);
  CHECK_FALSE(link.server_closed);
}

TEST_CASE("TLS contexts: files that do not load are named by their setting") {
  TlsSettings s;
  s.key_prefix = "backend.tls.";
  s.ca_file = "/nonexistent/ca.crt";
  s.cert_file = files().ca;  // a certificate, but not the key's
  s.key_file = files().server_key;
  s.ciphers = "NOT-A-CIPHER";
  std::vector<std::string> problems;
  CHECK_FALSE(TlsContext::client(s, &problems));
  std::string all;
  for (const std::string& p : problems) all += p + "\n";
  INFO(all);
  CHECK(all.find("backend.tls.ca_file: cannot load CA certificates from /nonexistent/ca.crt") !=
        std::string::npos);
  CHECK(all.find("backend.tls.key_file: ") != std::string::npos);
  CHECK(all.find("backend.tls.ciphers: no usable cipher") != std::string::npos);

  TlsSettings server;
  server.key_prefix = "tls.";
  problems.clear();
  CHECK_FALSE(TlsContext::server(server, &problems));
  REQUIRE_FALSE(problems.empty());
  CHECK(problems[0] == "tls.cert_file: required to serve TLS");
}
