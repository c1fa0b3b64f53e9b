#include "common/crypto.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdlib>
#include <memory>

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

namespace {

constexpr size_t kAeadNonceBytes = 12;
constexpr size_t kAeadTagBytes = 16;

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

std::string AeadSeal(std::string_view key, std::string_view aad, std::string_view plaintext) {
  if (key.size() != 32) std::abort();
  std::string out = RandomBytes(kAeadNonceBytes);
  out.resize(kAeadNonceBytes + plaintext.size() + kAeadTagBytes);
  auto* ct = reinterpret_cast<unsigned char*>(out.data()) + kAeadNonceBytes;
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  int total = 0;
  // Every step can fail only for lack of memory or a wiring bug: no half-sealed value.
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key), Bytes(out)) != 1 ||
      (!aad.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(aad),
                                         static_cast<int>(aad.size())) != 1) ||
      EVP_EncryptUpdate(ctx.get(), ct, &len, Bytes(plaintext),
                        static_cast<int>(plaintext.size())) != 1) {
    std::abort();
  }
  total = len;
  if (EVP_EncryptFinal_ex(ctx.get(), ct + total, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kAeadTagBytes, ct + plaintext.size()) !=
          1) {
    std::abort();
  }
  return out;
}

std::optional<std::string> AeadOpen(std::string_view key, std::string_view aad,
                                    std::string_view sealed) {
  if (key.size() != 32) std::abort();
  if (sealed.size() < kAeadNonceBytes + kAeadTagBytes) return std::nullopt;
  const std::string_view nonce = sealed.substr(0, kAeadNonceBytes);
  const std::string_view ct =
      sealed.substr(kAeadNonceBytes, sealed.size() - kAeadNonceBytes - kAeadTagBytes);
  std::string tag(sealed.substr(sealed.size() - kAeadTagBytes));
  std::string out(ct.size(), '\0');
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key), Bytes(nonce)) != 1 ||
      (!aad.empty() && EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(aad),
                                         static_cast<int>(aad.size())) != 1) ||
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, Bytes(ct),
                        static_cast<int>(ct.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kAeadTagBytes, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len, &len) !=
          1) {
    return std::nullopt;
  }
  return out;
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
