// Digests through OpenSSL's libcrypto. SHA-256 for passwords: the config stores digests, never
// plain passwords, and logins are compared digest to digest in constant time, as Redis's ACL does.
// SHA-1 for Lua scripts, named by it as Redis does (EVALSHA).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace slotgate::common {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest sha256(std::string_view data);
std::string toHex(const Sha256Digest& digest);
// 64 hex digits (either case) -> digest.
std::optional<Sha256Digest> parseSha256Hex(std::string_view hex);
// Compares without an early exit, so timing tells nothing about where two digests differ.
bool constantTimeEqual(const Sha256Digest& a, const Sha256Digest& b);
// 40 lower-case hex digits, as SCRIPT LOAD returns.
std::string sha1Hex(std::string_view data);

}  // namespace slotgate::common
