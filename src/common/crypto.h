// Hashing helpers over OpenSSL. Thread-safe; no shared state.
#ifndef INTERLOCK_COMMON_CRYPTO_H_
#define INTERLOCK_COMMON_CRYPTO_H_

#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace interlock {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest Sha256(std::string_view data);
// SHA-256 of the concatenation of `parts` (no copy into one buffer).
Sha256Digest Sha256Parts(std::initializer_list<std::string_view> parts);
std::string Sha256Hex(std::string_view data);
std::string HexEncode(const uint8_t* data, size_t size);
// HMAC-SHA256(key, data) as lowercase hex.
std::string HmacSha256Hex(std::string_view key, std::string_view data);
// HKDF-SHA256 (RFC 5869): `length` bytes (at most 255 * 32) of key material derived from
// the secret `ikm` for the purpose `info`. A key for one purpose is derived from a key
// held for another with its own `info` label, never used raw.
std::string HkdfSha256(std::string_view ikm, std::string_view salt, std::string_view info,
                       size_t length);
// AES-256-GCM with a random 96-bit nonce: nonce | ciphertext | 16-byte tag. `key` must
// be 32 bytes (a wiring bug aborts). AeadOpen gives nullopt for any change to the sealed
// bytes or `aad`, or another key.
std::string AeadSeal(std::string_view key, std::string_view aad, std::string_view plaintext);
std::optional<std::string> AeadOpen(std::string_view key, std::string_view aad,
                                    std::string_view sealed);
// `n` bytes from the OS CSPRNG; aborts if the CSPRNG fails (a bug-level condition).
std::string RandomBytes(size_t n);
// Constant-time equality for secrets of equal length.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace interlock

#endif  // INTERLOCK_COMMON_CRYPTO_H_
