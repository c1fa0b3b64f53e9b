// core::Authenticator (src/core/app/authn.h): tokens, the positive cache on an injected
// clock, revoked tokens, the JWT-to-agent mapping and the coalesced failure records.
#include "core/app/authn.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "test_idp.h"

namespace interlock::core {
namespace INTERLOCK_TEST_NS {

using namespace std::chrono_literals;
namespace json = boost::json;

constexpr int64_t kNow = 1'800'000'000;
constexpr const char* kIssuer = "https://idp.test";

// A token table in memory: counts lookups, can be made unavailable, records failures.
class FakeTokens final : public TokenTable {
 public:
  Result<Principal> Authenticate(std::string_view token) override {
    ++lookups;
    if (unavailable) return Error::Unavailable("the store is down");
    auto it = live.find(std::string(token));
    if (it == live.end()) return Error{ErrorKind::kPermissionDenied, "invalid or revoked token"};
    return it->second;
  }
  // The store's short cache, modelled: what `held` holds is answered without a lookup.
  std::optional<Principal> CachedPrincipal(std::string_view token) override {
    auto it = held.find(std::string(token));
    if (it == held.end()) return std::nullopt;
    return it->second;
  }
  Status RecordAuthFailures(const AuthFailures& f) override {
    records.push_back(f);
    return Status::Ok();
  }
  std::map<std::string, Principal> live;
  std::map<std::string, Principal> held;
  bool unavailable = false;
  int lookups = 0;
  std::vector<AuthFailures> records;
};

// Runs posted work when the test says so; remembers whether a flush is armed.
class ManualExecutor final : public AuthnExecutor {
 public:
  void Post(std::function<void()> fn) override { posted.push_back(std::move(fn)); }
  void ArmFlush(std::chrono::milliseconds) override { armed = true; }
  void CancelFlush() override { armed = false; }
  void RunPosted() {
    auto fns = std::move(posted);
    posted.clear();
    for (auto& fn : fns) fn();
  }
  std::vector<std::function<void()>> posted;
  bool armed = false;
};

class FakeFetcher final : public identity::JwksFetcher {
 public:
  Result<std::string> Fetch(const identity::IssuerConfig&) override { return jwks; }
  std::string jwks;
};

Principal Agent(std::string id) {
  Principal p;
  p.token_id = "tok-" + id;
  p.name = id;
  p.role = Role::kAgent;
  p.agent_id = std::move(id);
  return p;
}

std::shared_ptr<const policy::PolicySet> Policies(
    const std::vector<std::pair<std::string, std::string>>& agents_and_identities) {
  auto set = std::make_shared<policy::PolicySet>();
  for (const auto& [id, identity] : agents_and_identities) {
    auto a = std::make_shared<policy::AgentPolicy>();
    a->id = id;
    a->identity = identity;
    set->agents[id] = a;
  }
  set->sha256 = std::string(64, 'a');
  return set;
}

class AuthnTest : public ::testing::Test {
 protected:
  AuthnTest()
      : clock_(TimePoint(std::chrono::seconds(kNow))),
        policies_(Policies({{"support", "support-agent@myco.iam"}})) {
    tokens_.live["good-token"] = Agent("support");
  }
  Authenticator& Make(std::chrono::milliseconds ttl = 0ms, identity::Verifier* jwt = nullptr) {
    authn_ = std::make_unique<Authenticator>(
        AuthnOptions{.cache_ttl = ttl, .jwt = jwt, .count_failure = [this] { ++failures_; }},
        &tokens_, &policies_, &clock_, &exec_);
    return *authn_;
  }

  ManualClock clock_;
  FakeTokens tokens_;
  ManualExecutor exec_;
  PolicySource policies_;
  int failures_ = 0;
  std::unique_ptr<Authenticator> authn_;
};

// Tests that a live Interlock token authenticates as its agent, with no JWT identity.
TEST_F(AuthnTest, LiveTokenIsItsAgent) {
  AuthnResult r = Make().Bearer(std::string_view("good-token"));
  ASSERT_TRUE(r.ok()) << r.refusal.message;
  EXPECT_EQ(r.caller->principal.agent_id, "support");
  EXPECT_TRUE(r.caller->identity.issuer.empty());
  EXPECT_EQ(failures_, 0);
}

// Tests what a door whose one thread serves every request (the ext_authz door) may ask
// without waiting: a token no cache holds is never looked up there (nullopt: the door reads
// it on a thread that may wait), one the store's cache holds is answered, and a missing or
// oversized token is refused at once, as Bearer refuses it.
TEST_F(AuthnTest, TokenNoCacheHoldsIsNeverLookedUpOnAThreadThatMustNotWait) {
  Authenticator& a = Make();
  EXPECT_FALSE(a.BearerWithoutWaiting(std::string_view("good-token")).has_value());
  EXPECT_EQ(tokens_.lookups, 0) << "the token table was read on a thread that must not wait";
  tokens_.held["good-token"] = Agent("support");
  std::optional<AuthnResult> held = a.BearerWithoutWaiting(std::string_view("good-token"));
  ASSERT_TRUE(held.has_value());
  ASSERT_TRUE(held->ok()) << held->refusal.message;
  EXPECT_EQ(held->caller->principal.agent_id, "support");
  EXPECT_EQ(tokens_.lookups, 0);
  std::optional<AuthnResult> none = a.BearerWithoutWaiting(std::nullopt, true);
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->ok());
  std::optional<AuthnResult> huge = a.BearerWithoutWaiting(std::string(4096, 'x'));
  ASSERT_TRUE(huge.has_value());
  EXPECT_FALSE(huge->ok());
  EXPECT_EQ(tokens_.lookups, 0);
  // Bearer, on a thread that may wait, reads what the cache does not hold.
  EXPECT_TRUE(a.Bearer(std::string_view("good-token")).ok());
  EXPECT_EQ(tokens_.lookups, 1);
}

// Tests that the positive cache answers within its TTL on the injected clock and asks the
// token table again once it expired.
TEST_F(AuthnTest, CacheExpiresOnTheInjectedClock) {
  Authenticator& a = Make(2000ms);
  ASSERT_TRUE(a.Bearer(std::string_view("good-token")).ok());
  ASSERT_TRUE(a.Bearer(std::string_view("good-token")).ok());
  EXPECT_EQ(tokens_.lookups, 1) << "the second request within the TTL asked the store";
  clock_.Advance(2001ms);
  ASSERT_TRUE(a.Bearer(std::string_view("good-token")).ok());
  EXPECT_EQ(tokens_.lookups, 2) << "an expired cache entry was still used";
}

// Tests that a revoked token stops working once the cache TTL passed (the cache keeps
// positive answers only, so the revocation is never hidden longer than the TTL).
TEST_F(AuthnTest, RevokedTokenIsRefusedAfterTheCacheTtl) {
  Authenticator& a = Make(500ms);
  ASSERT_TRUE(a.Bearer(std::string_view("good-token")).ok());
  tokens_.live.erase("good-token");  // revoked
  clock_.Advance(501ms);
  AuthnResult r = a.Bearer(std::string_view("good-token"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.refusal.outcome, AuthnOutcome::kUnauthenticated);
  EXPECT_EQ(r.refusal.message, "invalid or revoked token");
  EXPECT_EQ(failures_, 1);
}

// Tests that without a cache a revoked token is refused at once.
TEST_F(AuthnTest, RevokedTokenIsRefusedAtOnceWithoutCache) {
  Authenticator& a = Make();
  ASSERT_TRUE(a.Bearer(std::string_view("good-token")).ok());
  tokens_.live.erase("good-token");
  EXPECT_FALSE(a.Bearer(std::string_view("good-token")).ok());
}

// Tests that a token table that cannot answer fails closed as kUnavailable (503), not as
// a pass and not as the caller's failure.
TEST_F(AuthnTest, UnavailableStoreFailsClosed) {
  tokens_.unavailable = true;
  AuthnResult r = Make().Bearer(std::string_view("good-token"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.refusal.outcome, AuthnOutcome::kUnavailable);
  EXPECT_EQ(failures_, 0);
}

// Tests that an oversized token is refused without asking the store (a token the size of
// a request body cannot be used to make the store hash and look up megabytes).
TEST_F(AuthnTest, OversizedTokenIsRefusedWithoutALookup) {
  const std::string huge(kMaxInterlockTokenBytes + 1, 'x');
  EXPECT_FALSE(Make().Bearer(std::string_view(huge)).ok());
  EXPECT_EQ(tokens_.lookups, 0);
}

// Tests that failures are audited, coalesced to one record a second: the first is written
// at once, the next ones are held back and written by the flush, none is lost.
TEST_F(AuthnTest, FailureFloodIsCoalescedAndNeverLost) {
  Authenticator& a = Make();
  EXPECT_FALSE(a.Bearer(std::nullopt).ok());
  exec_.RunPosted();
  ASSERT_EQ(tokens_.records.size(), 1u);
  EXPECT_EQ(tokens_.records[0].reasons.at("missing token"), 1u);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(a.Bearer(std::string_view("bad")).ok());
  EXPECT_FALSE(a.Bearer(std::nullopt, /*header_present=*/true).ok());
  exec_.RunPosted();
  EXPECT_EQ(tokens_.records.size(), 1u) << "a flood wrote more than one record a second";
  EXPECT_TRUE(exec_.armed) << "held-back failures have no flush armed";
  a.FlushFailures();
  ASSERT_EQ(tokens_.records.size(), 2u);
  EXPECT_EQ(tokens_.records[1].count, 6u);
  EXPECT_EQ(tokens_.records[1].reasons.at("invalid or revoked token"), 5u);
  EXPECT_EQ(tokens_.records[1].reasons.at("malformed Authorization header"), 1u);
  EXPECT_FALSE(exec_.armed);
  EXPECT_EQ(failures_, 7);
}

// Tests that failures held back at shutdown are written then, not dropped.
TEST_F(AuthnTest, HeldBackFailuresAreWrittenAtShutdown) {
  Authenticator& a = Make();
  a.NoteFailure("bad metrics secret");
  a.NoteFailure("CSRF");
  exec_.RunPosted();
  ASSERT_EQ(tokens_.records.size(), 1u);
  a.Shutdown();
  ASSERT_EQ(tokens_.records.size(), 2u);
  EXPECT_EQ(tokens_.records[1].reasons.at("CSRF"), 1u);
  a.NoteFailure("after shutdown");  // written at once, on this thread
  EXPECT_EQ(tokens_.records.size(), 3u);
}

// Tests that a refused sign-in's person is listed in the failure record.
TEST_F(AuthnTest, RefusedSignInIsListed) {
  Authenticator& a = Make();
  RefusedSignIn who;
  who.code = "OIDC_NO_ROLE";
  who.principal = "oidc:mallory@idp.test";
  a.NoteFailure("OIDC_NO_ROLE", &who);
  exec_.RunPosted();
  ASSERT_EQ(tokens_.records.size(), 1u);
  ASSERT_EQ(tokens_.records[0].sign_ins.size(), 1u);
  EXPECT_EQ(tokens_.records[0].sign_ins[0].principal, "oidc:mallory@idp.test");
}

class AuthnJwtTest : public AuthnTest {
 protected:
  AuthnJwtTest() : key_(testing::MakeKey("rsa-1", "RS256")) {
    fetcher_.jwks = testing::JwksOf({key_});
    cfg_.issuer = kIssuer;
    cfg_.audience = "interlock";
    cfg_.jwks_uri = "https://idp.test/jwks";
    verifier_ = std::make_unique<identity::Verifier>(std::vector{cfg_}, &fetcher_, &clock_);
    verifier_->RefreshDue();
  }
  std::string Token(const std::string& sub) {
    return testing::SignJwt(key_, {{"alg", "RS256"}, {"kid", "rsa-1"}, {"typ", "JWT"}},
                            {{"iss", kIssuer},
                             {"aud", "interlock"},
                             {"sub", sub},
                             {"iat", kNow - 10},
                             {"exp", kNow + 600}});
  }
  testing::TestKey key_;
  FakeFetcher fetcher_;
  identity::IssuerConfig cfg_;
  std::unique_ptr<identity::Verifier> verifier_;
};

// Tests that a verified JWT is the agent whose policy names its agent claim as
// agent.identity, recorded with the issuer; no token table lookup.
TEST_F(AuthnJwtTest, JwtMapsToThePolicyWithItsIdentity) {
  AuthnResult r =
      Make(0ms, verifier_.get()).Bearer(std::string_view(Token("support-agent@myco.iam")));
  ASSERT_TRUE(r.ok()) << r.refusal.message;
  EXPECT_EQ(r.caller->principal.agent_id, "support");
  EXPECT_EQ(r.caller->principal.role, Role::kAgent);
  EXPECT_EQ(r.caller->identity.issuer, kIssuer);
  EXPECT_EQ(r.caller->identity.subject, "support-agent@myco.iam");
  EXPECT_EQ(tokens_.lookups, 0);
}

// Tests that a valid JWT whose identity no policy names is refused and audited as
// JWT_NO_AGENT (a token of the identity provider is not an agent by itself).
TEST_F(AuthnJwtTest, JwtOfNoPolicyIsRefused) {
  Authenticator& a = Make(0ms, verifier_.get());
  AuthnResult r = a.Bearer(std::string_view(Token("intruder@elsewhere")));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.refusal.invalid_jwt);
  exec_.RunPosted();
  ASSERT_EQ(tokens_.records.size(), 1u);
  EXPECT_EQ(tokens_.records[0].reasons.count("JWT_NO_AGENT"), 1u);
}

// Tests that two policies claiming one identity make its JWT ambiguous, refused rather
// than mapped to either agent.
TEST_F(AuthnJwtTest, JwtClaimedByTwoPoliciesIsRefused) {
  policies_.Replace(Policies({{"a", "twin@myco.iam"}, {"b", "twin@myco.iam"}}));
  AuthnResult r = Make(0ms, verifier_.get()).Bearer(std::string_view(Token("twin@myco.iam")));
  ASSERT_FALSE(r.ok());
  exec_.RunPosted();
  ASSERT_EQ(tokens_.records.size(), 1u);
  EXPECT_EQ(tokens_.records[0].reasons.count("JWT_AMBIGUOUS_IDENTITY"), 1u);
}

// Tests that a JWT-shaped bearer is never looked up as an Interlock token when an issuer
// is trusted, and a forged one is refused.
TEST_F(AuthnJwtTest, ForgedJwtIsRefused) {
  std::string t = Token("support-agent@myco.iam");
  t.back() = t.back() == 'A' ? 'B' : 'A';
  AuthnResult r = Make(0ms, verifier_.get()).Bearer(std::string_view(t));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(tokens_.lookups, 0);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::core
