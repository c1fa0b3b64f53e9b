// JSON Web Tokens (RFC 7519, compact JWS RFC 7515) and JSON Web Key Sets (RFC 7517) as an
// enforcement point must read them: strictly, and failing closed.
//
// Parsing refuses what a lenient library would let through: non-canonical base64url
// (padding, foreign characters, stray trailing bits), duplicate keys in the header or
// claims (ParseJsonStrict), tokens over kMaxTokenBytes, key sets over kMaxJwksBytes or with
// more than kMaxJwksKeys keys. Only four algorithms exist here: RS256, PS256, ES256 and
// EdDSA (Ed25519); `none` and every HMAC algorithm are refused by name, so a public key can
// never be used as an HMAC secret. A key verifies only the algorithm of its type.
//
// Every refusal is an Error whose message starts with a reason code ("JWT_ALG_NONE: ...");
// RefusalCode() reads it back. Codes are stable: audit records and tests name them.
// Thread-safety: free functions and immutable values; safe from any thread.
#ifndef INTERLOCK_IDENTITY_JWT_H_
#define INTERLOCK_IDENTITY_JWT_H_

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "common/base64.h"  // Base64UrlDecode/Encode (the JWS encoding)
#include "interlock/result.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace interlock::identity {

inline constexpr size_t kMaxTokenBytes = 8 * 1024;
inline constexpr size_t kMaxJwksBytes = 256 * 1024;
inline constexpr size_t kMaxJwksKeys = 64;
inline constexpr size_t kMinRsaBits = 2048;

// Reason codes (the prefix of the Error message).
namespace code {
inline constexpr const char* kMalformed = "JWT_MALFORMED";
inline constexpr const char* kTooLarge = "JWT_TOO_LARGE";
inline constexpr const char* kAlgNone = "JWT_ALG_NONE";
inline constexpr const char* kAlgHmac = "JWT_ALG_HMAC";
inline constexpr const char* kAlgUnsupported = "JWT_ALG_UNSUPPORTED";
inline constexpr const char* kCrit = "JWT_CRIT";
inline constexpr const char* kUnknownKid = "JWT_UNKNOWN_KID";
inline constexpr const char* kKeyMismatch = "JWT_KEY_ALG_MISMATCH";
inline constexpr const char* kBadSignature = "JWT_BAD_SIGNATURE";
inline constexpr const char* kNoExp = "JWT_NO_EXP";
inline constexpr const char* kExpired = "JWT_EXPIRED";
inline constexpr const char* kNotYetValid = "JWT_NOT_YET_VALID";
inline constexpr const char* kIssuedInFuture = "JWT_ISSUED_IN_FUTURE";
inline constexpr const char* kLifetime = "JWT_LIFETIME_TOO_LONG";
inline constexpr const char* kIssuer = "JWT_WRONG_ISSUER";
inline constexpr const char* kAudience = "JWT_WRONG_AUDIENCE";
inline constexpr const char* kNoIdentity = "JWT_NO_IDENTITY_CLAIM";
inline constexpr const char* kIssuerNotBound = "JWT_ISSUER_NOT_BOUND";
inline constexpr const char* kActorChainTooDeep = "JWT_ACTOR_CHAIN_TOO_DEEP";
inline constexpr const char* kKeysUnavailable = "JWT_KEYS_UNAVAILABLE";
inline constexpr const char* kJwksInvalid = "JWKS_INVALID";
}  // namespace code

// A refusal: kDenied with the message "CODE: detail", which RefusalCode reads back.
Error Refusal(std::string_view code, std::string_view detail);
// The code at the front of a refusal's message ("" when there is none).
std::string_view RefusalCode(const Error& e);

enum class Alg { kRS256, kPS256, kES256, kEdDSA };
const char* AlgName(Alg a);

struct ParsedJwt {
  Alg alg = Alg::kRS256;
  std::string kid;             // "" when absent
  boost::json::object claims;  // duplicate-free
  std::string signing_input;   // "<header>.<payload>" as received
  std::string signature;       // decoded
};

// Splits and decodes a compact JWS. Refuses everything but the four algorithms, `crit`,
// `jku`/`x5u`/`jwk`/`x5c` (a key the token names itself is never trusted), `b64`
// (RFC 7797), and a `zip` header.
Result<ParsedJwt> ParseJwt(std::string_view token);

enum class KeyType { kRsa, kEcP256, kEd25519 };

struct Jwk {
  std::string kid;  // may be empty
  KeyType type = KeyType::kRsa;
  std::string alg;  // the JWK's own "alg" when present: the token's must then equal it
  std::shared_ptr<EVP_PKEY> key;
};

struct Jwks {
  std::vector<Jwk> keys;
  // The key for `kid` usable with `alg`. kUnknownKid when no key has that kid (or, for an
  // empty kid, when the set does not have exactly one key of the algorithm's type),
  // kKeyMismatch when the key exists but is of another type or pinned to another alg.
  Result<const Jwk*> Find(std::string_view kid, Alg alg) const;
};

// Parses a JWK Set. Keys of other types ("oct", other curves) and keys whose "use" is not
// "sig" are skipped (never usable); a malformed key of a supported type, a duplicate kid,
// an RSA modulus under kMinRsaBits, or a point not on P-256 refuses the whole set
// (kJwksInvalid), as do the size bounds.
Result<Jwks> ParseJwks(std::string_view text);

// Checks `jwt`'s signature with `key` (type and alg already matched by Jwks::Find).
Status VerifySignature(const ParsedJwt& jwt, const Jwk& key);

// A NumericDate claim (RFC 7519 section 2) in whole seconds since the epoch: an integer or a
// finite non-negative float (floored) up to 1e13; nullopt when the claim is absent. A
// string, a boolean or anything else is refused (kMalformed), never read as "absent": an
// `exp` a reader skipped would make an expired token look unbounded.
Result<std::optional<int64_t>> NumericDate(const boost::json::object& claims,
                                           std::string_view name);

}  // namespace interlock::identity

#endif  // INTERLOCK_IDENTITY_JWT_H_
