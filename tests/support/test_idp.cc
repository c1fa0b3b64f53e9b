#include "test_idp.h"

#include <stdexcept>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <boost/json/serialize.hpp>

#include "identity/jwt.h"

namespace interlock::testing {
namespace {

namespace json = boost::json;
using interlock::Base64UrlEncode;

std::string Bn(EVP_PKEY* k, const char* name, size_t pad = 0) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(k, name, &bn) != 1) throw std::runtime_error("get_bn_param");
  std::string out(std::max<size_t>(pad, size_t(BN_num_bytes(bn))), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), int(out.size()));
  BN_free(bn);
  return out;
}

std::string Sign(const TestKey& key, const std::string& input) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  const EVP_MD* md = key.alg == "EdDSA" ? nullptr : EVP_sha256();
  if (EVP_DigestSignInit(ctx, &pctx, md, nullptr, key.key.get()) != 1) {
    throw std::runtime_error("sign init");
  }
  if (key.alg == "PS256") {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256());
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32);
  }
  size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  EVP_DigestSign(ctx, nullptr, &len, in, input.size());
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, in, input.size()) !=
      1) {
    throw std::runtime_error("sign");
  }
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  if (key.alg == "ES256") {  // DER -> r||s
    const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, long(sig.size()));
    std::string raw(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
    ECDSA_SIG_free(es);
    return raw;
  }
  return sig;
}

}  // namespace

TestKey MakeKey(const std::string& kid, const std::string& alg, int bits) {
  EVP_PKEY* k = nullptr;
  if (alg == "RS256" || alg == "PS256") {
    k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t(bits));
  } else if (alg == "ES256") {
    k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  } else {
    k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  }
  if (!k) throw std::runtime_error("keygen " + alg);
  return TestKey{kid, alg, std::shared_ptr<EVP_PKEY>(k, EVP_PKEY_free)};
}

json::object TestKey::Jwk(const json::object& extra) const {
  json::object o;
  EVP_PKEY* k = key.get();
  if (alg == "RS256" || alg == "PS256") {
    o["kty"] = "RSA";
    o["n"] = Base64UrlEncode(Bn(k, OSSL_PKEY_PARAM_RSA_N));
    o["e"] = Base64UrlEncode(Bn(k, OSSL_PKEY_PARAM_RSA_E));
  } else if (alg == "ES256") {
    o["kty"] = "EC";
    o["crv"] = "P-256";
    o["x"] = Base64UrlEncode(Bn(k, OSSL_PKEY_PARAM_EC_PUB_X, 32));
    o["y"] = Base64UrlEncode(Bn(k, OSSL_PKEY_PARAM_EC_PUB_Y, 32));
  } else {
    unsigned char raw[32];
    size_t len = sizeof raw;
    EVP_PKEY_get_raw_public_key(k, raw, &len);
    o["kty"] = "OKP";
    o["crv"] = "Ed25519";
    o["x"] = Base64UrlEncode(std::string(reinterpret_cast<char*>(raw), len));
  }
  if (!kid.empty()) o["kid"] = kid;
  o["use"] = "sig";
  for (const auto& kv : extra) o[kv.key()] = kv.value();
  return o;
}

std::string TestKey::PublicPem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key.get());
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, size_t(n));
  BIO_free(bio);
  return out;
}

std::string JwksOf(const std::vector<TestKey>& keys) {
  json::array a;
  for (const TestKey& k : keys) a.push_back(k.Jwk());
  return json::serialize(json::object{{"keys", a}});
}

std::string SignJwtText(const TestKey& key, const std::string& header, const std::string& claims) {
  const std::string input = Base64UrlEncode(header) + "." + Base64UrlEncode(claims);
  return input + "." + Base64UrlEncode(Sign(key, input));
}

std::string SignJwt(const TestKey& key, const json::object& header, const json::object& claims) {
  return SignJwtText(key, json::serialize(header), json::serialize(claims));
}

std::string SignHs256(const std::string& secret, const json::object& header,
                      const json::object& claims) {
  const std::string input =
      Base64UrlEncode(json::serialize(header)) + "." + Base64UrlEncode(json::serialize(claims));
  unsigned char mac[32];
  unsigned int len = sizeof mac;
  HMAC(EVP_sha256(), secret.data(), int(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." + Base64UrlEncode(std::string(reinterpret_cast<char*>(mac), len));
}

}  // namespace interlock::testing
