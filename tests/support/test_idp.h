// A test identity provider: signing keys generated with OpenSSL on the spot, their JWK
// Set, and tokens signed with them, crafted as each test needs (any header, any claims,
// any signature bytes). Test-only; never links into the program.
#ifndef INTERLOCK_TESTS_SUPPORT_TEST_IDP_H_
#define INTERLOCK_TESTS_SUPPORT_TEST_IDP_H_

#include <memory>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

typedef struct evp_pkey_st EVP_PKEY;

namespace interlock::testing {

struct TestKey {
  std::string kid;
  std::string alg;  // RS256, PS256, ES256, EdDSA
  std::shared_ptr<EVP_PKEY> key;
  // The public JWK (no "alg" unless set); `extra` members are merged in.
  boost::json::object Jwk(const boost::json::object& extra = {}) const;
  // The public key in PEM (for the key-confusion attack).
  std::string PublicPem() const;
};

// alg: RS256/PS256 (RSA `bits`), ES256 (P-256), EdDSA (Ed25519).
TestKey MakeKey(const std::string& kid, const std::string& alg, int bits = 2048);

std::string JwksOf(const std::vector<TestKey>& keys);

// base64url(header) "." base64url(claims) "." base64url(signature by `key` with
// header["alg"] — which must be the key's alg unless `raw_signature` is given).
std::string SignJwt(const TestKey& key, const boost::json::object& header,
                    const boost::json::object& claims);
// As SignJwt but with the header and claims given as text (duplicate keys, odd spacing).
std::string SignJwtText(const TestKey& key, const std::string& header, const std::string& claims);
// HS256 with `secret` as the HMAC key.
std::string SignHs256(const std::string& secret, const boost::json::object& header,
                      const boost::json::object& claims);

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_SUPPORT_TEST_IDP_H_
