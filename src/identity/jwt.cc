#include "identity/jwt.h"

#include <array>
#include <cmath>
#include <cstring>
#include <set>
#include <vector>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "common/base64.h"
#include "common/crypto.h"
#include "common/json.h"

namespace interlock::identity {
namespace {

namespace json = boost::json;

struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

std::shared_ptr<EVP_PKEY> WrapKey(EVP_PKEY* k) {
  return std::shared_ptr<EVP_PKEY>(k, [](EVP_PKEY* p) { EVP_PKEY_free(p); });
}

Result<std::string> MemberB64(const json::object& o, std::string_view name, std::string_view what) {
  const json::value* v = o.if_contains(name);
  if (!v || !v->is_string()) {
    return Refusal(code::kJwksInvalid,
                   std::string(what) + " has no string \"" + std::string(name) + "\"");
  }
  auto d = Base64UrlDecode(std::string_view(v->as_string()));
  if (!d.ok()) {
    return Refusal(code::kJwksInvalid,
                   std::string(what) + " \"" + std::string(name) + "\": " + d.error().message);
  }
  if (d->empty()) {
    return Refusal(code::kJwksInvalid,
                   std::string(what) + " \"" + std::string(name) + "\" is empty");
  }
  return d;
}

Result<std::shared_ptr<EVP_PKEY>> FromParams(const char* type, OSSL_PARAM_BLD* bld) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* key = nullptr;
  const bool ok = params && ctx && EVP_PKEY_fromdata_init(ctx) == 1 &&
                  EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) == 1;
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  ERR_clear_error();
  if (!ok || !key) return Refusal(code::kJwksInvalid, std::string(type) + " key is not valid");
  return WrapKey(key);
}

Result<std::shared_ptr<EVP_PKEY>> RsaKey(const json::object& o) {
  auto n = MemberB64(o, "n", "RSA key");
  if (!n.ok()) return n.error();
  auto e = MemberB64(o, "e", "RSA key");
  if (!e.ok()) return e.error();
  if ((*n)[0] == '\0' || (*e)[0] == '\0') {
    return Refusal(code::kJwksInvalid, "RSA key n/e has a leading zero byte");
  }
  BnPtr bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()), int(n->size()), nullptr));
  BnPtr bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()), int(e->size()), nullptr));
  if (!bn_n || !bn_e) return Refusal(code::kJwksInvalid, "RSA key n/e");
  if (size_t(BN_num_bits(bn_n.get())) < kMinRsaBits) {
    return Refusal(code::kJwksInvalid,
                   "RSA modulus under " + std::to_string(kMinRsaBits) + " bits");
  }
  if (!BN_is_odd(bn_e.get()) || BN_num_bits(bn_e.get()) < 2 || BN_num_bits(bn_e.get()) > 32) {
    return Refusal(code::kJwksInvalid, "RSA exponent is not an odd number of 2..32 bits");
  }
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  if (!bld) return Error::Internal("out of memory");
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n.get());
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e.get());
  auto k = FromParams("RSA", bld);
  OSSL_PARAM_BLD_free(bld);
  return k;
}

Result<std::shared_ptr<EVP_PKEY>> EcKey(const json::object& o) {
  auto x = MemberB64(o, "x", "EC key");
  if (!x.ok()) return x.error();
  auto y = MemberB64(o, "y", "EC key");
  if (!y.ok()) return y.error();
  if (x->size() != 32 || y->size() != 32) {
    return Refusal(code::kJwksInvalid, "P-256 x and y must be 32 bytes each");
  }
  std::string point = "\x04" + *x + *y;
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  if (!bld) return Error::Internal("out of memory");
  OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
  OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  auto k = FromParams("EC", bld);
  OSSL_PARAM_BLD_free(bld);
  if (!k.ok()) return k;
  // fromdata does not promise an on-curve check: do it (an invalid-curve point leaks
  // nothing for verification, but a set that carries one is not what its issuer meant).
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, k->get(), nullptr);
  const bool on_curve = ctx && EVP_PKEY_public_check(ctx) == 1;
  EVP_PKEY_CTX_free(ctx);
  if (!on_curve) return Refusal(code::kJwksInvalid, "EC point is not on P-256");
  return k;
}

Result<std::shared_ptr<EVP_PKEY>> OkpKey(const json::object& o) {
  auto x = MemberB64(o, "x", "OKP key");
  if (!x.ok()) return x.error();
  if (x->size() != 32) return Refusal(code::kJwksInvalid, "Ed25519 x must be 32 bytes");
  EVP_PKEY* k = EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(x->data()), x->size());
  if (!k) return Refusal(code::kJwksInvalid, "Ed25519 key is not valid");
  return WrapKey(k);
}

// SHA-256 fetched once: EVP_sha256() makes OpenSSL 3 look the provider's implementation
// up again on every verification.
const EVP_MD* Sha256Md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md != nullptr ? md : EVP_sha256();
}

bool TypeFits(KeyType t, Alg a) {
  switch (a) {
    case Alg::kRS256:
    case Alg::kPS256:
      return t == KeyType::kRsa;
    case Alg::kES256:
      return t == KeyType::kEcP256;
    case Alg::kEdDSA:
      return t == KeyType::kEd25519;
  }
  return false;
}

}  // namespace

Error Refusal(std::string_view code, std::string_view detail) {
  std::string m(code);
  m += ": ";
  m += detail;
  return Error::Denied(std::move(m));
}

std::string_view RefusalCode(const Error& e) {
  const std::string_view m = e.message;
  const size_t colon = m.find(':');
  if (colon == std::string_view::npos) return {};
  const std::string_view c = m.substr(0, colon);
  for (char ch : c) {
    if (!(ch == '_' || (ch >= 'A' && ch <= 'Z'))) return {};
  }
  return c;
}

const char* AlgName(Alg a) {
  switch (a) {
    case Alg::kRS256:
      return "RS256";
    case Alg::kPS256:
      return "PS256";
    case Alg::kES256:
      return "ES256";
    case Alg::kEdDSA:
      return "EdDSA";
  }
  return "?";
}

Result<ParsedJwt> ParseJwt(std::string_view token) {
  if (token.size() > kMaxTokenBytes) {
    return Refusal(code::kTooLarge, "token over " + std::to_string(kMaxTokenBytes) + " bytes");
  }
  const size_t d1 = token.find('.');
  const size_t d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos) {
    return Refusal(code::kMalformed, "not a compact JWS (three dot-separated parts)");
  }
  const std::string_view h64 = token.substr(0, d1);
  const std::string_view p64 = token.substr(d1 + 1, d2 - d1 - 1);
  const std::string_view s64 = token.substr(d2 + 1);
  if (h64.empty() || p64.empty()) return Refusal(code::kMalformed, "empty header or payload");

  auto header_text = Base64UrlDecode(h64);
  if (!header_text.ok()) return Refusal(code::kMalformed, "header: " + header_text.error().message);
  JsonLimits limits;
  limits.max_bytes = kMaxTokenBytes;
  limits.max_depth = 16;
  auto header = ParseJsonStrict(*header_text, limits);
  if (!header.ok()) return Refusal(code::kMalformed, "header: " + header.error().message);
  if (!header->is_object()) return Refusal(code::kMalformed, "header is not a JSON object");
  const json::object& h = header->as_object();

  // The algorithm first, so `none` and HMAC are named as what they are.
  const json::value* alg = h.if_contains("alg");
  if (!alg || !alg->is_string()) return Refusal(code::kMalformed, "header has no string \"alg\"");
  const std::string_view alg_name = alg->as_string();
  ParsedJwt out;
  if (alg_name == "RS256") {
    out.alg = Alg::kRS256;
  } else if (alg_name == "PS256") {
    out.alg = Alg::kPS256;
  } else if (alg_name == "ES256") {
    out.alg = Alg::kES256;
  } else if (alg_name == "EdDSA") {
    out.alg = Alg::kEdDSA;
  } else {
    std::string lower;
    for (char c : alg_name) lower.push_back(char(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
    if (lower == "none") return Refusal(code::kAlgNone, "alg \"none\": an unsigned token");
    if (lower.rfind("hs", 0) == 0) {
      return Refusal(code::kAlgHmac, "alg \"" + std::string(alg_name) +
                                         "\": HMAC tokens are never accepted (a public key is "
                                         "not a shared secret)");
    }
    return Refusal(code::kAlgUnsupported,
                   "alg \"" + std::string(alg_name) + "\" (RS256, PS256, ES256, EdDSA only)");
  }
  if (h.contains("crit")) {
    return Refusal(code::kCrit, "a \"crit\" header names extensions this verifier does not know");
  }
  for (const char* embedded : {"jku", "x5u", "jwk", "x5c"}) {
    if (h.contains(embedded)) {
      return Refusal(code::kMalformed, std::string("header \"") + embedded +
                                           "\": keys named by the token itself are never trusted");
    }
  }
  if (h.contains("b64") || h.contains("zip")) {
    return Refusal(code::kMalformed, "header \"b64\"/\"zip\" is not supported");
  }
  if (const json::value* kid = h.if_contains("kid")) {
    if (!kid->is_string()) return Refusal(code::kMalformed, "\"kid\" is not a string");
    out.kid = std::string(kid->as_string());
  }

  auto payload_text = Base64UrlDecode(p64);
  if (!payload_text.ok()) {
    return Refusal(code::kMalformed, "payload: " + payload_text.error().message);
  }
  auto payload = ParseJsonStrict(*payload_text, limits);
  if (!payload.ok()) return Refusal(code::kMalformed, "claims: " + payload.error().message);
  if (!payload->is_object()) return Refusal(code::kMalformed, "claims are not a JSON object");
  out.claims = std::move(payload->as_object());

  auto sig = Base64UrlDecode(s64);
  if (!sig.ok()) return Refusal(code::kMalformed, "signature: " + sig.error().message);
  if (sig->empty()) return Refusal(code::kMalformed, "empty signature");
  out.signature = std::move(*sig);
  out.signing_input = std::string(token.substr(0, d2));
  return out;
}

Result<const Jwk*> Jwks::Find(std::string_view kid, Alg alg) const {
  const Jwk* found = nullptr;
  if (kid.empty()) {
    // No kid: usable only when exactly one key of the algorithm's type exists.
    int n = 0;
    for (const Jwk& k : keys) {
      if (TypeFits(k.type, alg)) {
        found = &k;
        ++n;
      }
    }
    if (n != 1) {
      return Refusal(code::kUnknownKid, "token has no \"kid\" and the key set has " +
                                            std::to_string(n) + " keys for " + AlgName(alg));
    }
  } else {
    for (const Jwk& k : keys) {
      if (k.kid == kid) found = &k;
    }
    if (!found) return Refusal(code::kUnknownKid, "no key with kid \"" + std::string(kid) + "\"");
  }
  if (!TypeFits(found->type, alg)) {
    return Refusal(code::kKeyMismatch, std::string("key \"") + found->kid + "\" cannot verify " +
                                           AlgName(alg) + " (wrong key type)");
  }
  if (!found->alg.empty() && found->alg != AlgName(alg)) {
    return Refusal(code::kKeyMismatch, "key \"" + found->kid + "\" is pinned to " + found->alg +
                                           ", the token says " + AlgName(alg));
  }
  return found;
}

Result<Jwks> ParseJwks(std::string_view text) {
  if (text.size() > kMaxJwksBytes) {
    return Refusal(code::kJwksInvalid, "key set over " + std::to_string(kMaxJwksBytes) + " bytes");
  }
  JsonLimits limits;
  limits.max_bytes = kMaxJwksBytes;
  limits.max_depth = 8;
  auto doc = ParseJsonStrict(text, limits);
  if (!doc.ok()) return Refusal(code::kJwksInvalid, doc.error().message);
  if (!doc->is_object()) return Refusal(code::kJwksInvalid, "not a JSON object");
  const json::value* keys = doc->as_object().if_contains("keys");
  if (!keys || !keys->is_array()) return Refusal(code::kJwksInvalid, "no \"keys\" array");
  if (keys->as_array().size() > kMaxJwksKeys) {
    return Refusal(code::kJwksInvalid, "more than " + std::to_string(kMaxJwksKeys) + " keys");
  }
  Jwks out;
  std::set<std::string> kids;
  for (const json::value& kv : keys->as_array()) {
    if (!kv.is_object()) return Refusal(code::kJwksInvalid, "a key is not a JSON object");
    const json::object& o = kv.as_object();
    const std::string kty = StringMember(o, "kty");
    Jwk k;
    k.kid = StringMember(o, "kid");
    k.alg = StringMember(o, "alg");
    if (const json::value* use = o.if_contains("use");
        use && !(use->is_string() && use->as_string() == "sig")) {
      continue;  // an encryption key never verifies
    }
    Result<std::shared_ptr<EVP_PKEY>> key = Error::Internal("unset");
    if (kty == "RSA") {
      k.type = KeyType::kRsa;
      key = RsaKey(o);
    } else if (kty == "EC") {
      if (StringMember(o, "crv") != "P-256") continue;
      k.type = KeyType::kEcP256;
      key = EcKey(o);
    } else if (kty == "OKP") {
      if (StringMember(o, "crv") != "Ed25519") continue;
      k.type = KeyType::kEd25519;
      key = OkpKey(o);
    } else {
      continue;  // "oct" (a shared secret) and unknown types are never usable
    }
    if (!key.ok()) return key.error();
    if (!k.kid.empty() && !kids.insert(k.kid).second) {
      return Refusal(code::kJwksInvalid, "two keys with kid \"" + k.kid + "\"");
    }
    k.key = std::move(*key);
    out.keys.push_back(std::move(k));
  }
  return out;
}

namespace {

// ES256's JOSE signature r||s (32 bytes each, big-endian) as the DER ECDSA-Sig-Value
// OpenSSL verifies: SEQUENCE { INTEGER r, INTEGER s }, each minimal (leading zeros
// dropped, a 0x00 added before a high bit). At most 72 bytes, so short-form lengths only.
// Written by hand: ECDSA_SIG and two BIGNUMs cost more than the bytes.
size_t EcdsaRawToDer(const unsigned char* rs, unsigned char out[72]) {
  size_t n = 2;
  for (int half = 0; half < 2; ++half) {
    const unsigned char* v = rs + 32 * half;
    size_t skip = 0;
    while (skip < 31 && v[skip] == 0) ++skip;
    const bool pad = (v[skip] & 0x80) != 0;
    const size_t len = 32 - skip + (pad ? 1 : 0);
    out[n++] = 0x02;
    out[n++] = static_cast<unsigned char>(len);
    if (pad) out[n++] = 0x00;
    std::memcpy(out + n, v + skip, 32 - skip);
    n += 32 - skip;
  }
  out[0] = 0x30;
  out[1] = static_cast<unsigned char>(n - 2);
  return n;
}

// Verification contexts (EVP_PKEY_verify_init done, padding and digest set) for the keys
// this thread verified with lately: setting one up (fetching the signature implementation,
// the key's provider export, the parameters) costs about as much as a P-256 verify's
// arithmetic, and OpenSSL documents EVP_PKEY_verify as repeatable on one context. A
// context holds a reference to its key, so a rotated-out key's address cannot be reused
// while it is cached here; the cache is small and per thread (a context is not
// thread-safe), so it needs no lock.
class VerifyContexts {
 public:
  ~VerifyContexts() {
    for (Entry& e : entries_) EVP_PKEY_CTX_free(e.ctx);
  }
  EVP_PKEY_CTX* Get(EVP_PKEY* key, Alg alg) {
    for (Entry& e : entries_) {
      if (e.key == key && e.alg == alg) return e.ctx;
    }
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr);
    bool ok = ctx != nullptr && EVP_PKEY_verify_init(ctx) == 1 &&
              EVP_PKEY_CTX_set_signature_md(ctx, Sha256Md()) == 1;
    if (ok && alg == Alg::kPS256) {
      ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) == 1 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, Sha256Md()) == 1 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, 32) == 1;
    } else if (ok && alg == Alg::kRS256) {
      ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1;
    }
    if (!ok) {
      EVP_PKEY_CTX_free(ctx);
      return nullptr;
    }
    if (entries_.size() >= kMaxEntries) {
      EVP_PKEY_CTX_free(entries_.front().ctx);
      entries_.erase(entries_.begin());
    }
    entries_.push_back({key, alg, ctx});
    return ctx;
  }

 private:
  static constexpr size_t kMaxEntries = 8;
  struct Entry {
    const EVP_PKEY* key;
    Alg alg;
    EVP_PKEY_CTX* ctx;
  };
  std::vector<Entry> entries_;
};

// RS256, PS256, ES256: SHA-256 of the signing input, then the cached context.
bool VerifyPrehashed(const ParsedJwt& jwt, const Jwk& key, const unsigned char* sig,
                     size_t sig_len) {
  thread_local VerifyContexts contexts;
  EVP_PKEY_CTX* ctx = contexts.Get(key.key.get(), jwt.alg);
  if (ctx == nullptr) return false;
  const Sha256Digest digest = Sha256(jwt.signing_input);
  return EVP_PKEY_verify(ctx, sig, sig_len, digest.data(), digest.size()) == 1;
}

// EdDSA (Ed25519 signs the message itself, no prehash): a one-shot EVP_DigestVerify.
bool VerifyEd25519(const ParsedJwt& jwt, const Jwk& key) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx) return false;
  const bool verified =
      EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key.key.get()) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(jwt.signature.data()),
                       jwt.signature.size(),
                       reinterpret_cast<const unsigned char*>(jwt.signing_input.data()),
                       jwt.signing_input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return verified;
}

}  // namespace

Status VerifySignature(const ParsedJwt& jwt, const Jwk& key) {
  if (!TypeFits(key.type, jwt.alg)) {
    return Refusal(code::kKeyMismatch, std::string("key type cannot verify ") + AlgName(jwt.alg));
  }
  const auto* sig = reinterpret_cast<const unsigned char*>(jwt.signature.data());
  bool verified = false;
  switch (jwt.alg) {
    case Alg::kES256: {
      // JOSE carries r||s, 32 bytes each; OpenSSL verifies DER.
      if (jwt.signature.size() != 64) {
        return Refusal(code::kBadSignature, "ES256 signature is not 64 bytes");
      }
      unsigned char der[72];
      verified = VerifyPrehashed(jwt, key, der, EcdsaRawToDer(sig, der));
      break;
    }
    case Alg::kRS256:
    case Alg::kPS256:
      verified = VerifyPrehashed(jwt, key, sig, jwt.signature.size());
      break;
    case Alg::kEdDSA:
      if (jwt.signature.size() != 64) {
        return Refusal(code::kBadSignature, "EdDSA signature is not 64 bytes");
      }
      verified = VerifyEd25519(jwt, key);
      break;
  }
  ERR_clear_error();  // a failed verify leaves reasons on this thread's queue
  if (!verified) return Refusal(code::kBadSignature, "signature does not verify");
  return Status::Ok();
}

Result<std::optional<int64_t>> NumericDate(const json::object& claims, std::string_view name) {
  const json::value* v = claims.if_contains(name);
  if (!v) return std::optional<int64_t>();
  double d = 0;
  if (v->is_int64()) {
    d = double(v->as_int64());
  } else if (v->is_uint64()) {
    d = double(v->as_uint64());
  } else if (v->is_double()) {
    d = v->as_double();
  } else {
    return Refusal(code::kMalformed, "\"" + std::string(name) + "\" is not a number");
  }
  if (!std::isfinite(d) || d < 0 || d > 1e13) {
    return Refusal(code::kMalformed, "\"" + std::string(name) + "\" is out of range");
  }
  return std::optional<int64_t>(int64_t(std::floor(d)));
}

}  // namespace interlock::identity
