// JWT verification: one test per attack the verifier must stop, against a test identity
// provider (tests/support/test_idp.h) whose keys the tests generate and rotate.
#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json/serialize.hpp>

#include "identity/jwt.h"
#include "identity/verifier.h"
#include "test_idp.h"

namespace interlock::identity {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using testing::JwksOf;
using testing::MakeKey;
using testing::SignJwt;
using testing::SignJwtText;
using testing::TestKey;

constexpr const char* kIssuer = "https://idp.test";
constexpr int64_t kNow = 1'800'000'000;

// Serves whatever JWKS text the test sets; counts fetches; can be "unreachable".
class FakeFetcher : public JwksFetcher {
 public:
  Result<std::string> Fetch(const IssuerConfig&) override {
    ++fetches;
    if (unreachable) return Error::Unavailable("connecting to the JWKS server failed");
    return jwks;
  }
  std::string jwks;
  bool unreachable = false;
  std::atomic<int> fetches{0};
};

// RSA key generation is slow: the fixture's two keys are made once per process.
const TestKey& SharedKey(const std::string& kid, const std::string& alg) {
  static std::map<std::string, TestKey> keys;
  auto it = keys.find(kid);
  if (it == keys.end()) it = keys.emplace(kid, MakeKey(kid, alg)).first;
  return it->second;
}

class Jwt : public ::testing::Test {
 protected:
  Jwt()
      : rsa_(SharedKey("rsa-1", "RS256")),
        ec_(SharedKey("ec-1", "ES256")),
        clock_(TimePoint(std::chrono::seconds(kNow))) {
    fetcher_.jwks = JwksOf({rsa_, ec_});
    cfg_.issuer = kIssuer;
    cfg_.audience = "interlock";
    cfg_.jwks_uri = "https://idp.test/jwks";
  }
  Verifier& V() {
    if (!verifier_) verifier_ = std::make_unique<Verifier>(std::vector{cfg_}, &fetcher_, &clock_);
    return *verifier_;
  }
  static json::object Header(const TestKey& k) {
    return {{"alg", k.alg}, {"kid", k.kid}, {"typ", "JWT"}};
  }
  static json::object Claims() {
    return {{"iss", kIssuer},
            {"aud", "interlock"},
            {"sub", "support-agent@myco.iam"},
            {"iat", kNow - 10},
            {"exp", kNow + 600}};
  }
  std::string Good() { return SignJwt(rsa_, Header(rsa_), Claims()); }
  void ExpectRefused(const std::string& token, std::string_view code) {
    auto r = V().Verify(token);
    ASSERT_FALSE(r.ok()) << "accepted a token that must be refused (" << code << ")";
    EXPECT_EQ(r.error().kind, ErrorKind::kPermissionDenied);
    EXPECT_EQ(RefusalCode(r.error()), code) << r.error().message;
  }

  TestKey rsa_;
  TestKey ec_;
  ManualClock clock_;
  FakeFetcher fetcher_;
  IssuerConfig cfg_;
  std::unique_ptr<Verifier> verifier_;
};

TEST_F(Jwt, AllFourAlgorithmsVerify) {
  const TestKey ps = MakeKey("ps-1", "PS256");
  const TestKey ed = MakeKey("ed-1", "EdDSA");
  fetcher_.jwks = JwksOf({rsa_, ec_, ps, ed});
  for (const TestKey* k : std::vector<const TestKey*>{&rsa_, &ec_, &ps, &ed}) {
    auto r = V().Verify(SignJwt(*k, Header(*k), Claims()));
    ASSERT_TRUE(r.ok()) << k->alg << ": " << r.error().message;
    EXPECT_EQ(r->agent, "support-agent@myco.iam");
    EXPECT_EQ(r->issuer, kIssuer);
  }
}

TEST_F(Jwt, AlgNoneIsRefused) {
  const std::string unsigned_token = Base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + "." +
                                     Base64UrlEncode(json::serialize(Claims())) + ".";
  ExpectRefused(unsigned_token, code::kAlgNone);
  ExpectRefused(unsigned_token + "AA", code::kAlgNone);
  const std::string upper = Base64UrlEncode(R"({"alg":"NoNe"})") + "." +
                            Base64UrlEncode(json::serialize(Claims())) + ".AA";
  ExpectRefused(upper, code::kAlgNone);
}

TEST_F(Jwt, PublicKeyAsHmacSecretIsRefused) {
  // The classic key confusion: HS256 with the issuer's public key as the "secret".
  json::object h{{"alg", "HS256"}, {"kid", rsa_.kid}};
  ExpectRefused(testing::SignHs256(rsa_.PublicPem(), h, Claims()), code::kAlgHmac);
  ExpectRefused(testing::SignHs256(fetcher_.jwks, h, Claims()), code::kAlgHmac);
}

TEST_F(Jwt, SymmetricKeyInTheJwksIsNeverUsable) {
  fetcher_.jwks = R"({"keys":[{"kty":"oct","kid":"rsa-1","k":"c2VjcmV0"}]})";
  ExpectRefused(Good(), code::kUnknownKid);
}

TEST_F(Jwt, RsaKeyNamedByAnEs256TokenIsAKeyTypeMismatch) {
  json::object h{{"alg", "ES256"}, {"kid", rsa_.kid}};
  ExpectRefused(SignJwt(ec_, h, Claims()), code::kKeyMismatch);
}

TEST_F(Jwt, KeyPinnedToRs256CannotVerifyPs256) {
  const TestKey ps = MakeKey("rsa-pinned", "PS256");
  json::array keys{ps.Jwk({{"alg", "RS256"}})};
  fetcher_.jwks = json::serialize(json::object{{"keys", keys}});
  ExpectRefused(SignJwt(ps, Header(ps), Claims()), code::kKeyMismatch);
}

TEST_F(Jwt, UnknownKidRefreshesOnceThenRefuses) {
  V().RefreshDue();  // the daemon's first scheduled fetch, at start
  ASSERT_TRUE(V().Verify(Good()).ok());
  ASSERT_EQ(fetcher_.fetches, 1);
  const TestKey stranger = MakeKey("invented", "RS256");
  for (int i = 0; i < 20; ++i) {
    ExpectRefused(SignJwt(stranger, Header(stranger), Claims()), code::kUnknownKid);
  }
  EXPECT_EQ(fetcher_.fetches, 2) << "one refresh per 30 s, however many invented kids arrive";
  clock_.Advance(31s);
  ExpectRefused(SignJwt(stranger, Header(stranger), Claims()), code::kUnknownKid);
  EXPECT_EQ(fetcher_.fetches, 3);
}

TEST_F(Jwt, RotatedKeyIsPickedUpOnItsFirstToken) {
  ASSERT_TRUE(V().Verify(Good()).ok());
  const TestKey next = MakeKey("rsa-2", "RS256");
  fetcher_.jwks = JwksOf({next});  // rsa-1 retired
  clock_.Advance(31s);
  auto r = V().Verify(SignJwt(next, Header(next), Claims()));
  ASSERT_TRUE(r.ok()) << r.error().message;
  // The retired key's tokens, even one cached before, no longer pass.
  ExpectRefused(Good(), code::kUnknownKid);
}

TEST_F(Jwt, CritHeaderIsRefused) {
  json::object h = Header(rsa_);
  h["crit"] = json::array{"exp"};
  ExpectRefused(SignJwt(rsa_, h, Claims()), code::kCrit);
}

TEST_F(Jwt, KeyEmbeddedInTheHeaderIsNeverTrusted) {
  const TestKey attacker = MakeKey("rsa-1", "RS256");
  for (const char* member : {"jwk", "jku", "x5u", "x5c"}) {
    json::object h = Header(attacker);
    h[member] = member == std::string("jwk") ? json::value(attacker.Jwk())
                                             : json::value("https://evil.test/k");
    ExpectRefused(SignJwt(attacker, h, Claims()), code::kMalformed);
  }
}

TEST_F(Jwt, ForgedSignatureIsRefused) {
  const TestKey attacker = MakeKey("rsa-1", "RS256");  // same kid, another key
  ExpectRefused(SignJwt(attacker, Header(attacker), Claims()), code::kBadSignature);
  // Claims edited after signing.
  std::string t = Good();
  json::object c = Claims();
  c["sub"] = "admin-agent";
  const size_t d1 = t.find('.'), d2 = t.find('.', d1 + 1);
  t = t.substr(0, d1 + 1) + Base64UrlEncode(json::serialize(c)) + t.substr(d2);
  ExpectRefused(t, code::kBadSignature);
}

TEST_F(Jwt, TokenWithoutExpIsRefused) {
  json::object c = Claims();
  c.erase("exp");
  ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kNoExp);
}

TEST_F(Jwt, TokenOfAnotherIssuerIsRefused) {
  json::object c = Claims();
  c["iss"] = "https://idp.test.evil";
  ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kIssuer);
  c.erase("iss");
  ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kIssuer);
  c["iss"] = json::array{kIssuer};
  ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kIssuer);
}

TEST_F(Jwt, TokenForAnotherAudienceIsRefused) {
  json::object c = Claims();
  c["aud"] = "billing-service";
  ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kAudience);
  c.erase("aud");
  ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kAudience);
  c["aud"] = json::array{"billing-service", "interlock"};
  EXPECT_TRUE(V().Verify(SignJwt(rsa_, Header(rsa_), c)).ok());
}

TEST_F(Jwt, ExpiredTokenIsRefusedAfterTheSkew) {
  json::object c = Claims();
  c["iat"] = kNow - 700;
  c["exp"] = kNow - 30;  // expired, but within the 60 s skew
  EXPECT_TRUE(V().Verify(SignJwt(rsa_, Header(rsa_), c)).ok());
  c["exp"] = kNow - 61;
  ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kExpired);
}

TEST_F(Jwt, CachedTokenExpiresWithItsExp) {
  ASSERT_TRUE(V().Verify(Good()).ok());
  EXPECT_EQ(V().cache_size(), 1u);
  clock_.Advance(600s + 61s);
  ExpectRefused(Good(), code::kExpired);
}

TEST_F(Jwt, ClockSkewBeyondTheAllowanceIsRefused) {
  json::object c = Claims();
  c["nbf"] = kNow + 50;  // an issuer clock 50 s ahead: accepted
  c["iat"] = kNow + 50;
  EXPECT_TRUE(V().Verify(SignJwt(rsa_, Header(rsa_), c)).ok());
  c["nbf"] = kNow + 120;
  c["iat"] = kNow;
  ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kNotYetValid);
  c.erase("nbf");
  c["iat"] = kNow + 120;
  ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kIssuedInFuture);
}

TEST_F(Jwt, LongLivedTokenIsRefused) {
  cfg_.max_lifetime = 1h;
  json::object c = Claims();
  c["exp"] = kNow + 7200;
  ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kLifetime);
  c.erase("iat");  // no iat: the lifetime counts from now
  ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kLifetime);
  c["nbf"] = kNow - 10;
  ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kLifetime);
}

TEST_F(Jwt, OversizedTokenIsRefusedBeforeParsing) {
  json::object c = Claims();
  c["pad"] = std::string(9000, 'a');
  ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kTooLarge);
}

TEST_F(Jwt, NonCanonicalBase64IsRefused) {
  const std::string t = Good();
  ExpectRefused(t + "=", code::kMalformed);  // padding
  std::string bits = t;  // an RSA signature's last character has 4 unused bits: set one
  ASSERT_NE(std::string("AQgw").find(bits.back()), std::string::npos);
  bits.back() = char(bits.back() + 1);
  ExpectRefused(bits, code::kMalformed);
  std::string plus = t;
  plus[plus.find('.') - 1] = '+';  // standard base64 alphabet
  ExpectRefused(plus, code::kMalformed);
  EXPECT_FALSE(Base64UrlDecode("QR").ok());  // "A" with non-zero unused bits
  EXPECT_TRUE(Base64UrlDecode("QQ").ok());
}

TEST_F(Jwt, DuplicateClaimIsRefused) {
  // Two "sub": a lenient parser keeps one, another parser the other.
  const std::string claims = R"({"iss":"https://idp.test","aud":"interlock","sub":"low-agent",)"
                             R"("exp":1800000600,"iat":1799999990,"sub":"admin-agent"})";
  ExpectRefused(SignJwtText(rsa_, json::serialize(Header(rsa_)), claims), code::kMalformed);
  ExpectRefused(SignJwtText(rsa_, R"({"alg":"RS256","kid":"rsa-1","alg":"HS256"})",
                            json::serialize(Claims())),
                code::kMalformed);
}

TEST_F(Jwt, JwksUnreachableServesCachedKeysUntilMaxAge) {
  cfg_.max_key_age = 1h;
  ASSERT_TRUE(V().Verify(Good()).ok());
  fetcher_.unreachable = true;
  clock_.Advance(30min);
  V().RefreshDue();  // the scheduled refresh fails: the cached keys keep serving
  json::object c = Claims();
  c["iat"] = kNow + 1800;
  c["exp"] = kNow + 2400;
  const std::string later = SignJwt(rsa_, Header(rsa_), c);
  EXPECT_TRUE(V().Verify(later).ok());
  clock_.Advance(31min);                         // keys now 61 minutes old
  ExpectRefused(later, code::kKeysUnavailable);  // even though it was cached
  c["iat"] = kNow + 3660;
  c["exp"] = kNow + 4000;
  ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kKeysUnavailable);
  fetcher_.unreachable = false;  // the issuer is back
  clock_.Advance(31s);
  EXPECT_TRUE(V().Verify(SignJwt(rsa_, Header(rsa_), c)).ok());
}

TEST_F(Jwt, ScheduledRefreshRetiresARemovedKey) {
  ASSERT_TRUE(V().Verify(Good()).ok());
  fetcher_.jwks = JwksOf({ec_});  // the issuer withdrew rsa-1 (compromised, say)
  clock_.Advance(4min);
  V().RefreshDue();  // not due yet (refresh_interval 5 min)
  EXPECT_TRUE(V().Verify(Good()).ok());
  clock_.Advance(1min);
  V().RefreshDue();
  ExpectRefused(Good(), code::kUnknownKid);  // cached before, refused now
}

TEST_F(Jwt, ConcurrentVerificationsAgree) {
  const std::string good = Good();
  json::object c = Claims();
  c["aud"] = "billing-service";
  const std::string bad = SignJwt(rsa_, Header(rsa_), c);
  Verifier& v = V();
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (!v.Verify(good).ok()) ++wrong;
        if (v.Verify(bad).ok()) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(fetcher_.fetches, 1);
}

TEST_F(Jwt, JwksUnreachableAtStartRefusesEveryToken) {
  fetcher_.unreachable = true;
  ExpectRefused(Good(), code::kKeysUnavailable);
  ExpectRefused(Good(), code::kKeysUnavailable);
  EXPECT_EQ(fetcher_.fetches, 1) << "on-demand fetches are rate-limited";
}

TEST_F(Jwt, OnBehalfOfComesFromActOrTheConfiguredClaim) {
  json::object c = Claims();
  c["act"] = json::object{{"sub", "alice@myco.example"}};
  auto r = V().Verify(SignJwt(rsa_, Header(rsa_), c));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->on_behalf_of, "alice@myco.example");

  cfg_.on_behalf_of_claim = "requested_by";
  cfg_.agent_claim = "agent.name";
  verifier_.reset();
  c["requested_by"] = "bob@myco.example";
  c["agent"] = json::object{{"name", "deploy-agent"}};
  r = V().Verify(SignJwt(rsa_, Header(rsa_), c));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->on_behalf_of, "bob@myco.example");
  EXPECT_EQ(r->agent, "deploy-agent");
}

TEST_F(Jwt, TokenWithoutTheAgentClaimIsRefused) {
  json::object c = Claims();
  c["sub"] = 42;
  ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kNoIdentity);
}

TEST(Jwks, OversizedOrCrowdedSetsAreRefused) {
  EXPECT_EQ(RefusalCode(ParseJwks(std::string(kMaxJwksBytes + 1, ' ')).error()),
            code::kJwksInvalid);
  std::vector<TestKey> many;
  const TestKey one = MakeKey("", "EdDSA");
  json::array keys;
  for (size_t i = 0; i <= kMaxJwksKeys; ++i) {
    keys.push_back(one.Jwk({{"kid", "k" + std::to_string(i)}}));
  }
  EXPECT_FALSE(ParseJwks(json::serialize(json::object{{"keys", keys}})).ok());
  keys.pop_back();
  EXPECT_TRUE(ParseJwks(json::serialize(json::object{{"keys", keys}})).ok());
}

TEST(Jwks, ShortRsaModulusIsRefused) {
  const TestKey weak = MakeKey("weak", "RS256", 1024);
  EXPECT_FALSE(ParseJwks(JwksOf({weak})).ok());
}

TEST(Jwks, DuplicateKidIsRefused) {
  EXPECT_FALSE(ParseJwks(JwksOf({MakeKey("same", "ES256"), MakeKey("same", "EdDSA")})).ok());
}

TEST(Jwks, PointOffTheCurveIsRefused) {
  const TestKey ec = MakeKey("ec", "ES256");
  json::object jwk = ec.Jwk();
  jwk["y"] = Base64UrlEncode(std::string(31, '\0') + "\x01");
  EXPECT_FALSE(ParseJwks(json::serialize(json::object{{"keys", json::array{jwk}}})).ok());
}

TEST(Jwks, LooksLikeJwtSeparatesJwtsFromInterlockTokens) {
  EXPECT_TRUE(LooksLikeJwt("eyJhbGciOiJSUzI1NiJ9.eyJ9.c2ln"));
  EXPECT_FALSE(LooksLikeJwt("ilk_0123456789abcdef0123456789abcdef0123456"));  // Interlock's
  EXPECT_FALSE(LooksLikeJwt("eyJ.no-second-dot"));
}

}  // namespace
}  // namespace interlock::identity
