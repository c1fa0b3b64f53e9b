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
namespace INTERLOCK_TEST_NS {

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
    std::this_thread::sleep_for(delay);  // pace: a slow provider
    if (unreachable) return Error::Unavailable("connecting to the JWKS server failed");
    return jwks;
  }
  std::string jwks;
  std::atomic<bool> unreachable = false;
  std::atomic<int> fetches{0};
  std::chrono::milliseconds delay{0};
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
  // As the daemon starts one: the first scheduled fetch runs before any token arrives.
  Verifier& V() {
    if (!verifier_) {
      verifier_ = std::make_unique<Verifier>(std::vector{cfg_}, &fetcher_, &clock_);
      verifier_->RefreshDue();
    }
    return *verifier_;
  }
  // The on-demand refreshes refused tokens asked for, done (they run on the verifier's
  // own thread).
  void Refreshed() { ASSERT_TRUE(V().WaitForRefreshes(10s)) << "the key refresh never ended"; }
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

// Tests that a token of each supported algorithm (RS256, PS256, ES256, EdDSA) verifies with its
// key.
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

// Tests that an unsigned token (alg "none", in any case, with or without a signature) is refused.
TEST_F(Jwt, AlgNoneIsRefused) {
  const std::string unsigned_token = Base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + "." +
                                     Base64UrlEncode(json::serialize(Claims())) + ".";
  ExpectRefused(unsigned_token, code::kAlgNone);
  ExpectRefused(unsigned_token + "AA", code::kAlgNone);
  const std::string upper = Base64UrlEncode(R"({"alg":"NoNe"})") + "." +
                            Base64UrlEncode(json::serialize(Claims())) + ".AA";
  ExpectRefused(upper, code::kAlgNone);
}

// Tests that an HS256 token keyed with the issuer's public key (key confusion) is refused.
TEST_F(Jwt, PublicKeyAsHmacSecretIsRefused) {
  // The classic key confusion: HS256 with the issuer's public key as the "secret".
  json::object h{{"alg", "HS256"}, {"kid", rsa_.kid}};
  ExpectRefused(testing::SignHs256(rsa_.PublicPem(), h, Claims()), code::kAlgHmac);
  ExpectRefused(testing::SignHs256(fetcher_.jwks, h, Claims()), code::kAlgHmac);
}

// Tests that an "oct" key in the JWKS never verifies anything.
TEST_F(Jwt, SymmetricKeyInTheJwksIsNeverUsable) {
  fetcher_.jwks = R"({"keys":[{"kty":"oct","kid":"rsa-1","k":"c2VjcmV0"}]})";
  ExpectRefused(Good(), code::kUnknownKid);
}

// Tests that a key whose type does not match the token's alg is refused.
TEST_F(Jwt, RsaKeyNamedByAnEs256TokenIsAKeyTypeMismatch) {
  json::object h{{"alg", "ES256"}, {"kid", rsa_.kid}};
  ExpectRefused(SignJwt(ec_, h, Claims()), code::kKeyMismatch);
}

// Tests that a JWK pinned to one alg cannot verify another of its family.
TEST_F(Jwt, KeyPinnedToRs256CannotVerifyPs256) {
  const TestKey ps = MakeKey("rsa-pinned", "PS256");
  json::array keys{ps.Jwk({{"alg", "RS256"}})};
  fetcher_.jwks = json::serialize(json::object{{"keys", keys}});
  ExpectRefused(SignJwt(ps, Header(ps), Claims()), code::kKeyMismatch);
}

// Tests that invented kids trigger at most one key refresh per 30 s, then refusal.
TEST_F(Jwt, UnknownKidRefreshesOnceThenRefuses) {
  ASSERT_TRUE(V().Verify(Good()).ok());
  ASSERT_EQ(fetcher_.fetches, 1);
  const TestKey stranger = MakeKey("invented", "RS256");
  for (int i = 0; i < 20; ++i) {
    ExpectRefused(SignJwt(stranger, Header(stranger), Claims()), code::kUnknownKid);
  }
  Refreshed();
  EXPECT_EQ(fetcher_.fetches, 2) << "one refresh per 30 s, however many invented kids arrive";
  clock_.Advance(31s);
  ExpectRefused(SignJwt(stranger, Header(stranger), Claims()), code::kUnknownKid);
  Refreshed();
  EXPECT_EQ(fetcher_.fetches, 3);
}

// Tests that a rotated-in key is refused at once on its first token (no caller waits for the
// issuer), fetched in the background, then accepted; a retired key stops verifying.
TEST_F(Jwt, RotatedKeyIsAcceptedAfterTheBackgroundRefresh) {
  ASSERT_TRUE(V().Verify(Good()).ok());
  const TestKey next = MakeKey("rsa-2", "RS256");
  fetcher_.jwks = JwksOf({next});  // rsa-1 retired
  clock_.Advance(31s);
  const std::string rotated = SignJwt(next, Header(next), Claims());
  auto first = V().Verify(rotated);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(RefusalCode(first.error()), code::kUnknownKid);
  EXPECT_NE(first.error().message.find("retry"), std::string::npos) << first.error().message;
  Refreshed();
  auto r = V().Verify(rotated);
  ASSERT_TRUE(r.ok()) << r.error().message;
  // The retired key's tokens, even one cached before, no longer pass.
  ExpectRefused(Good(), code::kUnknownKid);
}

// Tests that a caller allowed to wait (a sign-in, off the network threads) gets a
// rotated-in key's token verified on its first try, within its bound.
TEST_F(Jwt, CallerThatMayWaitGetsTheRotatedKeyOnItsFirstToken) {
  ASSERT_TRUE(V().Verify(Good()).ok());
  const TestKey next = MakeKey("rsa-3", "RS256");
  fetcher_.jwks = JwksOf({next});
  clock_.Advance(31s);
  auto r = V().Verify(SignJwt(next, Header(next), Claims()), 10s);
  ASSERT_TRUE(r.ok()) << r.error().message;
}

// Tests that a token whose key is unknown never waits for a slow identity provider: with a
// fetch that takes 3 s in flight, Verify answers (refuses) in well under a second, however
// many such tokens arrive, and a cached token keeps verifying meanwhile.
TEST_F(Jwt, UnknownKidNeverWaitsForASlowProvider) {
  const std::string good = Good();
  ASSERT_TRUE(V().Verify(good).ok());
  fetcher_.delay = 3s;
  const TestKey stranger = MakeKey("invented-slow", "ES256");
  std::vector<std::string> flood;
  for (int i = 0; i < 50; ++i) {
    json::object c = Claims();
    c["jti"] = i;
    flood.push_back(SignJwt(stranger, Header(stranger), c));
  }
  const auto start = std::chrono::steady_clock::now();
  for (const std::string& t : flood) {
    ExpectRefused(t, code::kUnknownKid);
    EXPECT_TRUE(V().Verify(good).ok());
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  Refreshed();
  EXPECT_EQ(fetcher_.fetches, 2);
}

// Tests that a token with a crit header is refused.
TEST_F(Jwt, CritHeaderIsRefused) {
  json::object h = Header(rsa_);
  h["crit"] = json::array{"exp"};
  ExpectRefused(SignJwt(rsa_, h, Claims()), code::kCrit);
}

// Tests that a key the token names itself (jwk, jku, x5u, x5c) is refused.
TEST_F(Jwt, KeyEmbeddedInTheHeaderIsNeverTrusted) {
  const TestKey attacker = MakeKey("rsa-1", "RS256");
  for (const char* member : {"jwk", "jku", "x5u", "x5c"}) {
    json::object h = Header(attacker);
    h[member] = member == std::string("jwk") ? json::value(attacker.Jwk())
                                             : json::value("https://evil.test/k");
    ExpectRefused(SignJwt(attacker, h, Claims()), code::kMalformed);
  }
}

// Tests that a signature by another key, or claims edited after signing, are refused.
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

// Tests that a token without exp (one that never expires) is refused.
TEST_F(Jwt, TokenWithoutExpIsRefused) {
  json::object c = Claims();
  c.erase("exp");
  ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kNoExp);
}

// Tests that a wrong, missing or non-string iss is refused.
TEST_F(Jwt, TokenOfAnotherIssuerIsRefused) {
  json::object c = Claims();
  c["iss"] = "https://idp.test.evil";
  ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kIssuer);
  c.erase("iss");
  ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kIssuer);
  c["iss"] = json::array{kIssuer};
  ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kIssuer);
}

// Tests that a wrong or missing aud is refused, and an aud array containing ours is accepted.
TEST_F(Jwt, TokenForAnotherAudienceIsRefused) {
  json::object c = Claims();
  c["aud"] = "billing-service";
  ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kAudience);
  c.erase("aud");
  ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kAudience);
  c["aud"] = json::array{"billing-service", "interlock"};
  EXPECT_TRUE(V().Verify(SignJwt(rsa_, Header(rsa_), c)).ok());
}

// Tests that an expired token is accepted within the skew and refused beyond it.
TEST_F(Jwt, ExpiredTokenIsRefusedAfterTheSkew) {
  json::object c = Claims();
  c["iat"] = kNow - 700;
  c["exp"] = kNow - 30;  // expired, but within the 60 s skew
  EXPECT_TRUE(V().Verify(SignJwt(rsa_, Header(rsa_), c)).ok());
  c["exp"] = kNow - 61;
  ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kExpired);
}

// Tests that a cached verified token is refused once its exp (plus skew) has passed.
TEST_F(Jwt, CachedTokenExpiresWithItsExp) {
  ASSERT_TRUE(V().Verify(Good()).ok());
  EXPECT_EQ(V().cache_size(), 1u);
  clock_.Advance(600s + 61s);
  ExpectRefused(Good(), code::kExpired);
}

// Tests that an issuer clock ahead within the skew is tolerated, beyond it nbf and iat are refused.
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

// Tests that a token valid for longer than max_lifetime is refused, with or without iat.
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

// Tests that a token over 8 KiB is refused before it is parsed.
TEST_F(Jwt, OversizedTokenIsRefusedBeforeParsing) {
  json::object c = Claims();
  c["pad"] = std::string(9000, 'a');
  ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kTooLarge);
}

// Tests that padding, non-zero trailing bits and the standard alphabet are refused (parser
// differentials).
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

// Tests that a duplicated claim or header member is refused (parser differentials).
TEST_F(Jwt, DuplicateClaimIsRefused) {
  // Two "sub": a lenient parser keeps one, another parser the other.
  const std::string claims = R"({"iss":"https://idp.test","aud":"interlock","sub":"low-agent",)"
                             R"("exp":1800000600,"iat":1799999990,"sub":"admin-agent"})";
  ExpectRefused(SignJwtText(rsa_, json::serialize(Header(rsa_)), claims), code::kMalformed);
  ExpectRefused(SignJwtText(rsa_, R"({"alg":"RS256","kid":"rsa-1","alg":"HS256"})",
                            json::serialize(Claims())),
                code::kMalformed);
}

// Tests that an issuer unreachable later keeps its cached keys serving until max_key_age, then
// fails closed until it is back.
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
  Refreshed();
  fetcher_.unreachable = false;  // the issuer is back
  clock_.Advance(31s);
  ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kKeysUnavailable);  // asks again
  Refreshed();
  EXPECT_TRUE(V().Verify(SignJwt(rsa_, Header(rsa_), c)).ok());
}

// Tests that the scheduled refresh retires a key the issuer withdrew, even for cached tokens.
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

// Tests that concurrent verifications of good and bad tokens give the right answer each time.
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

// Tests that an issuer unreachable at start refuses every token (fail closed), with rate-limited
// fetches, until it answers.
TEST_F(Jwt, JwksUnreachableAtStartRefusesEveryToken) {
  fetcher_.unreachable = true;
  ExpectRefused(Good(), code::kKeysUnavailable);  // the start's fetch failed; one more asked
  ExpectRefused(Good(), code::kKeysUnavailable);
  Refreshed();
  EXPECT_EQ(fetcher_.fetches, 2) << "on-demand fetches are rate-limited";
  fetcher_.unreachable = false;  // the issuer answers again
  clock_.Advance(31s);
  ExpectRefused(Good(), code::kKeysUnavailable);  // asks again, refused until it lands
  Refreshed();
  EXPECT_TRUE(V().Verify(Good()).ok());
}

// Tests that on_behalf_of comes from act.sub or the configured claim, and the agent claim may be a
// path.
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

// Tests that a token naming its human in a claim of another shape (act.sub a number or an
// array, act a string, on_behalf_of an object) is refused, not read as naming nobody: a
// policy's on_behalf_of rule (a suspended human) cannot be stepped around by the shape.
TEST_F(Jwt, OnBehalfOfClaimOfAnotherShapeIsRefusedNotReadAsNobody) {
  for (const json::value& act :
       {json::value(json::object{{"sub", 42}}),
        json::value(json::object{{"sub", json::array{"alice@myco.example"}}}),
        json::value("alice@myco.example")}) {
    json::object c = Claims();
    c["act"] = act;
    ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kMalformed);
  }
  cfg_.on_behalf_of_claim = "on_behalf_of";
  verifier_.reset();
  json::object c = Claims();
  c["on_behalf_of"] = json::object{{"name", "alice@myco.example"}};
  ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kMalformed);
  // An act object without sub (an actor named otherwise) still names nobody.
  c = Claims();
  c["act"] = json::object{{"client_id", "ci"}};
  cfg_.on_behalf_of_claim.clear();
  verifier_.reset();
  auto r = V().Verify(SignJwt(rsa_, Header(rsa_), c));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->on_behalf_of, "");
}

// Tests that the actor chain (nested `act`) is read whole, outermost first (sub, else
// client_id), that a chain of kMaxActorChain is accepted and one deeper refused, and that
// a nested act or an actor name of another shape is refused rather than cut short.
TEST_F(Jwt, NestedActorChainIsReadWholeAndBoundedInDepth) {
  json::object c = Claims();
  c["act"] = json::object{
      {"sub", "alice@myco.example"},
      {"act", json::object{{"client_id", "planner"}, {"act", json::object{{"sub", "root"}}}}}};
  auto r = V().Verify(SignJwt(rsa_, Header(rsa_), c));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->actor_chain, (std::vector<std::string>{"alice@myco.example", "planner", "root"}));
  EXPECT_EQ(r->on_behalf_of, "alice@myco.example");
  c = Claims();
  EXPECT_TRUE(V().Verify(SignJwt(rsa_, Header(rsa_), c))->actor_chain.empty());
  auto chain = [](size_t n) {
    json::object act{{"sub", "a" + std::to_string(n)}};
    for (size_t i = n - 1; i >= 1; --i) {
      act = json::object{{"sub", "a" + std::to_string(i)}, {"act", act}};
    }
    return act;
  };
  c["act"] = chain(identity::kMaxActorChain);
  r = V().Verify(SignJwt(rsa_, Header(rsa_), c));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->actor_chain.size(), identity::kMaxActorChain);
  c["act"] = chain(identity::kMaxActorChain + 1);
  ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kActorChainTooDeep);
  for (const json::value& nested :
       {json::value("planner"), json::value(json::array{json::object{{"sub", "x"}}}),
        json::value(json::object{{"sub", 7}}), json::value(json::object{{"client_id", false}})}) {
    c["act"] = json::object{{"sub", "alice@myco.example"}, {"act", nested}};
    ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kMalformed);
  }
}

// Tests that a human's groups claim holding a non-string (or neither a string nor an array)
// is refused rather than read with elements dropped: the dropped one could be the group a
// deny rule names.
TEST_F(Jwt, GroupsClaimWithNonStringsIsRefusedNotFiltered) {
  cfg_.on_behalf_of_groups_claim = "groups";
  json::object c = Claims();
  c["act"] = json::object{{"sub", "alice@myco.example"}};
  c["groups"] = json::array{"engineering", "contractors"};
  auto ok = V().Verify(SignJwt(rsa_, Header(rsa_), c));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->on_behalf_of_groups, (std::vector<std::string>{"engineering", "contractors"}));
  for (const json::value& groups :
       {json::value(json::array{"engineering", json::object{{"name", "contractors"}}}),
        json::value(7), json::value(json::object{{"a", "b"}})}) {
    c["groups"] = groups;
    ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kMalformed);
  }
}

// Tests that exp, nbf and iat written as floats are read (floored) and as strings refused.
TEST_F(Jwt, NumericDatesAsFloatsAreReadAndAsStringsRefused) {
  json::object c = Claims();
  c["exp"] = double(kNow) + 600.5;
  c["iat"] = double(kNow) - 10.25;
  auto r = V().Verify(SignJwt(rsa_, Header(rsa_), c));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->expires_at, TimePoint(std::chrono::seconds(kNow + 600)));
  c["exp"] = double(kNow) - 3600.5;  // an hour ago, as a float: expired, not unbounded
  ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kExpired);
  for (const char* claim : {"exp", "nbf", "iat"}) {
    json::object s = Claims();
    s[claim] = std::to_string(kNow + 600);
    ExpectRefused(SignJwt(rsa_, Header(rsa_), s), code::kMalformed);
  }
}

// Tests that an RFC 8693 delegation token (sub: the human, act.sub: the agent) read with
// agent_claim "act.sub" and the default on_behalf_of names the human as on_behalf_of, never
// the agent: the human stays the one who cannot approve her own delegated call.
TEST_F(Jwt, DelegationTokenNeverRecordsTheAgentAsTheHuman) {
  cfg_.agent_claim = "act.sub";
  ASSERT_TRUE(ValidateIssuerConfig(cfg_).ok());
  json::object c = Claims();
  c["sub"] = "alice@myco.example";
  c["act"] = json::object{{"sub", "deploy-agent"}};
  auto r = V().Verify(SignJwt(rsa_, Header(rsa_), c));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->agent, "deploy-agent");
  EXPECT_EQ(r->on_behalf_of, "alice@myco.example");
  // Both read from one claim is refused when the issuer is configured.
  cfg_.on_behalf_of_claim = "act.sub";
  EXPECT_FALSE(ValidateIssuerConfig(cfg_).ok());
  cfg_.agent_claim = "sub";
  cfg_.on_behalf_of_claim = "sub";
  EXPECT_FALSE(ValidateIssuerConfig(cfg_).ok());
}

// Tests that algorithms outside the allowlist (other hashes, curves, unknown names) are
// refused before any key is looked up.
TEST_F(Jwt, UnsupportedAlgorithmIsRefused) {
  V();
  const int at_start = fetcher_.fetches;  // the start's scheduled fetch
  for (const char* alg : {"RS512", "PS384", "ES384", "ES256K", "Ed448", "RSA-OAEP", "es256"}) {
    json::object h{{"alg", alg}, {"kid", rsa_.kid}};
    ExpectRefused(SignJwt(rsa_, h, Claims()), code::kAlgUnsupported);
  }
  Refreshed();
  EXPECT_EQ(fetcher_.fetches, at_start);
}

// Tests that ES256 signatures of every shape verify (r and s with and without a high bit
// or leading zero bytes, which the r||s to DER conversion must encode minimally), and that
// r or s of zero, or equal to the group order, are bad signatures, not errors.
TEST_F(Jwt, Es256SignaturesOfEveryShapeVerifyAndOutOfRangeOnesAreRefused) {
  for (int i = 0; i < 300; ++i) {
    json::object c = Claims();
    c["jti"] = i;
    const std::string t = SignJwt(ec_, Header(ec_), c);
    auto r = V().Verify(t);
    ASSERT_TRUE(r.ok()) << i << ": " << r.error().message;
  }
  const std::string t = SignJwt(ec_, Header(ec_), Claims());
  const std::string head = t.substr(0, t.rfind('.') + 1);
  auto sig = Base64UrlDecode(t.substr(t.rfind('.') + 1));
  ASSERT_TRUE(sig.ok());
  const std::string order(  // n of P-256
      "\xff\xff\xff\xff\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff"
      "\xbc\xe6\xfa\xad\xa7\x17\x9e\x84\xf3\xb9\xca\xc2\xfc\x63\x25\x51",
      32);
  const std::string zero(32, '\0');
  for (const std::string& forged : {zero + sig->substr(32), sig->substr(0, 32) + zero,
                                    order + sig->substr(32), sig->substr(0, 32) + order}) {
    ExpectRefused(head + Base64UrlEncode(forged), code::kBadSignature);
  }
  ExpectRefused(head + Base64UrlEncode(sig->substr(0, 63)), code::kBadSignature);
}

// Tests that a configured skew of 0 tolerates no clock difference at all.
TEST_F(Jwt, ConfiguredSkewIsTheOnlyToleranceForClockDifference) {
  cfg_.skew = 0s;
  json::object c = Claims();
  c["exp"] = kNow;
  ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kExpired);
  c["exp"] = kNow + 600;
  c["nbf"] = kNow + 1;
  ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kNotYetValid);
  c["nbf"] = kNow;
  EXPECT_TRUE(V().Verify(SignJwt(rsa_, Header(rsa_), c)).ok());
}

// Tests that a token whose agent claim is not a string is refused.
TEST_F(Jwt, TokenWithoutTheAgentClaimIsRefused) {
  json::object c = Claims();
  c["sub"] = 42;
  ExpectRefused(SignJwt(rsa_, Header(rsa_), c), code::kNoIdentity);
}

// Tests that a JWKS over the byte or key-count bound is refused.
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

// Tests that an RSA key under 2048 bits is refused.
TEST(Jwks, ShortRsaModulusIsRefused) {
  const TestKey weak = MakeKey("weak", "RS256", 1024);
  EXPECT_FALSE(ParseJwks(JwksOf({weak})).ok());
}

// Tests that a JWKS with two keys of one kid is refused.
TEST(Jwks, DuplicateKidIsRefused) {
  EXPECT_FALSE(ParseJwks(JwksOf({MakeKey("same", "ES256"), MakeKey("same", "EdDSA")})).ok());
}

// Tests that an EC key whose point is not on P-256 is refused.
TEST(Jwks, PointOffTheCurveIsRefused) {
  const TestKey ec = MakeKey("ec", "ES256");
  json::object jwk = ec.Jwk();
  jwk["y"] = Base64UrlEncode(std::string(31, '\0') + "\x01");
  EXPECT_FALSE(ParseJwks(json::serialize(json::object{{"keys", json::array{jwk}}})).ok());
}

// Tests that JWT-shaped bearers are told apart from Interlock tokens.
TEST(Jwks, LooksLikeJwtSeparatesJwtsFromInterlockTokens) {
  EXPECT_TRUE(LooksLikeJwt("eyJhbGciOiJSUzI1NiJ9.eyJ9.c2ln"));
  EXPECT_FALSE(LooksLikeJwt("ilk_0123456789abcdef0123456789abcdef0123456"));  // Interlock's
  EXPECT_FALSE(LooksLikeJwt("eyJ.no-second-dot"));
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::identity
