#include "common/crypto.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdlib>

// SHA256_Init/Update/Final are deprecated in OpenSSL 3 but compute the digest directly;
// the one-shot SHA256() goes through EVP_MD_fetch, whose first call loads the default
// provider and builds its algorithm tables: ~10 ms of CPU that every short-lived process
// (`interlock decide`, the hook) paid to hash one policy file.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

namespace interlock {

Sha256Digest Sha256(std::string_view data) {
  Sha256Digest out;
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, data.data(), data.size());
  SHA256_Final(out.data(), &ctx);
  return out;
}

Sha256Digest Sha256Parts(std::initializer_list<std::string_view> parts) {
  Sha256Digest out;
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  for (std::string_view p : parts) SHA256_Update(&ctx, p.data(), p.size());
  SHA256_Final(out.data(), &ctx);
  return out;
}

std::string HexEncode(const uint8_t* data, size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (size_t i = 0; i < size; ++i) {
    out[2 * i] = kHex[data[i] >> 4];
    out[2 * i + 1] = kHex[data[i] & 0xf];
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  const Sha256Digest d = Sha256(data);
  return HexEncode(d.data(), d.size());
}

std::string HmacSha256Hex(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return HexEncode(out, len);
}

namespace {

std::string HmacSha256Raw(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

}  // namespace

std::string HkdfSha256(std::string_view ikm, std::string_view salt, std::string_view info,
                       size_t length) {
  constexpr size_t kHashBytes = 32;
  // More than the RFC allows is a wiring bug, never input.
  if (length > 255 * kHashBytes) std::abort();
  const std::string prk =
      HmacSha256Raw(salt.empty() ? std::string(kHashBytes, '\0') : std::string(salt), ikm);
  std::string okm;
  std::string t;
  for (unsigned char i = 1; okm.size() < length; ++i) {
    std::string block = t;
    block.append(info);
    block.push_back(static_cast<char>(i));
    t = HmacSha256Raw(prk, block);
    okm += t;
  }
  okm.resize(length);
  return okm;
}

// From the kernel's CSPRNG (getrandom(2), blocking until it is seeded), not OpenSSL's
// RAND_bytes: the first RAND_bytes of a process instantiates OpenSSL's DRBG (the default
// provider, the CTR-DRBG and its AES cipher fetched, openssl.cnf read): ~0.8 ms of CPU
// that the command hook paid per tool call for an 8-byte call id. The callers that want
// many bytes draw them in bulk (store::internal::NewId keeps a 4 KiB pool per thread).
std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    const ssize_t r = getrandom(out.data() + got, n - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      std::abort();
    }
    got += static_cast<size_t>(r);
  }
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace interlock
