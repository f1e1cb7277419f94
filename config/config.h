// Plain settings structs with their defaults. Nothing here knows YAML; config_loader fills these in.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace slotgate::config {

struct Address {
  std::string host;
  uint16_t port = 0;
  bool operator==(const Address&) const = default;
};

// Bounds on what one client may send or make the proxy hold. Defaults follow Redis's own.
struct Limits {
  size_t max_bulk_len = 512ull * 1024 * 1024;         // proto-max-bulk-len
  size_t max_inline_len = 64 * 1024;                  // PROTO_INLINE_MAX_SIZE
  size_t max_args = 1024 * 1024;                      // arguments in one multibulk request
  size_t max_pipeline = 1024;                         // commands in flight per client before reading pauses
  size_t client_output_buffer = 64ull * 1024 * 1024;  // unsent reply bytes before the client is dropped
  // Soft output limit: a client above it for soft_seconds in a row is dropped. 0 = off (Redis's
  // default for normal clients).
  size_t client_output_buffer_soft = 0;
  unsigned client_output_buffer_soft_seconds = 60;
  size_t max_clients = 10000;  // clients connected at once, over all workers (Redis's maxclients)
  // Bytes of requests and replies buffered in the proxy, over all clients; above it new commands
  // get -OOM. 0 = off.
  size_t maxmemory = 0;
};

// What a client user may do. Admin adds the commands that change or expose the whole server
// (CONFIG SET, FLUSHALL, KEYS, CLIENT KILL, SLOWLOG RESET, ...).
enum class Permission : uint8_t { kReadOnly, kReadWrite, kAdmin };

struct User {
  std::string name;
  std::array<uint8_t, 32> password_sha256{};  // only the digest is kept, like Redis's ACL
  Permission permission = Permission::kReadWrite;
  std::vector<std::string> key_prefixes;  // empty: every key
};

// How slotgate itself logs in to the cluster nodes; never shown to clients.
struct BackendAuth {
  std::string user;      // empty: AUTH <password> (the default user)
  std::string password;  // empty: no AUTH
};

// Where read-only commands go: always the slot's master, a replica of it when one is healthy
// (else the master), or a replica even when it looks unhealthy (the master only when the slot
// has no replica at all).
inline constexpr const char* kReadFromChoices[] = {"master", "prefer-replica", "replica"};

// TLS offered to clients on `tls.listen`, beside or instead of the plain `listen`.
struct ClientTls {
  bool enabled = false;  // tls.listen is set
  Address listen;
  std::string cert_file;  // the server certificate chain (PEM)
  std::string key_file;   // its private key (PEM)
  std::string ca_file;    // CAs client certificates must come from (verify_clients)
  std::string ca_dir;
  bool verify_clients = false;  // mutual TLS: refuse clients without a valid certificate
  std::string min_version = "1.2";
  std::string ciphers;       // TLS 1.2, OpenSSL syntax; empty: OpenSSL's default
  std::string ciphersuites;  // TLS 1.3, OpenSSL syntax; empty: OpenSSL's default
};

// TLS to the cluster nodes (every node connection, discovery and the bus observer).
struct BackendTls {
  bool enabled = false;
  std::string ca_file;  // empty with ca_dir empty: the system's trust store
  std::string ca_dir;
  std::string cert_file;  // client certificate, for nodes with tls-auth-clients yes
  std::string key_file;
  std::string server_name;      // checked against each node's certificate; empty: the address dialed
  std::string verify = "full";  // full (chain and name), ca (chain only), none
  std::string min_version = "1.2";
  std::string ciphers;
  std::string ciphersuites;
};

inline constexpr const char* kTlsVersions[] = {"1.2", "1.3"};
inline constexpr const char* kTlsVerifyChoices[] = {"full", "ca", "none"};
inline constexpr const char* kGossipTlsChoices[] = {"auto", "on", "off"};

struct Slowlog {
  uint64_t slower_than_us = 10000;  // commands at least this slow are logged (Redis's default)
  size_t max_len = 128;             // entries kept, oldest dropped first
};

struct Config {
  Address listen{"127.0.0.1", 7777};
  bool listen_enabled = true;  // listen: off (then unix_socket serves alone)
  // A unix socket served beside (or instead of) `listen`, like Redis's unixsocket; empty: none.
  std::string unix_socket;
  unsigned unix_socket_perm = 0660;  // its file mode (octal in the file, like unixsocketperm)
  std::vector<Address> seeds;
  unsigned threads = 0;                  // 0: one per core
  unsigned connect_timeout_ms = 1000;    // TCP connect to a node
  unsigned backend_timeout_ms = 5000;    // a node's reply to one command
  unsigned max_redirects = 5;            // MOVED/ASK/TRYAGAIN/retries one request may follow
  unsigned refresh_interval_ms = 10000;  // periodic topology refresh, the safety net
  bool gossip = true;                    // watch the cluster bus (PING/PONG) for changes
  unsigned gossip_interval_ms = 500;     // between two PINGs to one node's bus port
  // TLS to the bus ports: auto (when backend.tls is enabled, as with tls-cluster yes), on, off.
  std::string gossip_tls = "auto";
  unsigned failover_wait_ms = 10000;  // how long requests for a failed primary's slots wait
  unsigned client_idle_s = 0;         // close clients idle this long; 0 = never (Redis's timeout)
  // Park clients idle this long: their session and connection are let go and the socket waits
  // bare until the client speaks again; 0 = never.
  unsigned client_park_ms = 1000;
  // Without auth configured, accept clients from loopback only and refuse a non-loopback listen
  // address (Redis's protected-mode).
  bool protected_mode = true;
  unsigned shutdown_timeout_ms = 10000;  // SIGTERM: in-flight requests may finish for this long
  std::string log_level = "info";        // trace|debug|info|warn|error|critical|off
  std::string log_format = "text";       // text|json
  // How worker sockets read and write: auto (libuv), libuv, uring (io_uring, libuv if unavailable).
  std::string io_transport = "auto";
  std::string read_from = "master";         // one of kReadFromChoices
  bool admin_enabled = true;                // admin.listen: off
  Address admin_listen{"127.0.0.1", 9121};  // HTTP: /metrics /healthz /readyz /topology
  Slowlog slowlog;
  Limits limits;
  std::vector<User> users;  // empty: no authentication (like Redis without requirepass)
  BackendAuth backend;
  // Links per primary per worker kept connected (handshake sent) for a client's exclusive use: a
  // blocking command, a transaction, SCRIPT KILL reach the node without waiting for a connect.
  unsigned spare_links = 1;
  BackendTls backend_tls;
  ClientTls tls;
  size_t script_cache = 1000;  // scripts remembered for NOSCRIPT retries (LRU)
};

// Whether clients must authenticate: some user is configured.
inline bool authConfigured(const Config& config) { return !config.users.empty(); }

// Whether `host` (an IP literal) is a loopback address: 127.0.0.0/8 or ::1, also IPv4-mapped.
bool isLoopbackHost(const std::string& host);

}  // namespace slotgate::config
