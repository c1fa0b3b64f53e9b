// identity/credential_broker.h: the token endpoint's answer, the cache (injected clock,
// single flight, bound) and the broker's grants against a fake endpoint.
#include "identity/credential_broker.h"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "common/base64.h"

namespace interlock::identity {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;
using std::chrono::seconds;

std::string Jwt(const json::object& claims) {
  return Base64UrlEncode(R"({"alg":"RS256"})") + "." + Base64UrlEncode(json::serialize(claims)) +
         ".c2lnbmF0dXJlLWJ5dGVz";
}

std::string Answer(const std::string& token, int expires_in = 300, const std::string& scope = "") {
  json::object o{{"access_token", token}, {"token_type", "Bearer"}, {"expires_in", expires_in}};
  if (!scope.empty()) o["scope"] = scope;
  return json::serialize(o);
}

// A token endpoint that records each form and answers what the test sets.
class FakeEndpoint final : public TokenEndpoint {
 public:
  Result<Reply> Post(const CredentialConfig&, const CredentialClient& client,
                     const std::string& form) override {
    ++posts;
    last_form = form;
    last_client = client.client_id;
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    if (!error.empty()) return Error::Unavailable(error);
    return Reply{status, body};
  }
  std::atomic<int> posts{0};
  std::string last_form;
  std::string last_client;
  int status = 200;
  std::string body;
  std::string error;
  std::chrono::milliseconds delay{0};
};

CredentialConfig Exchange() {
  CredentialConfig c;
  c.kind = CredentialKind::kTokenExchange;
  c.upstream = "github";
  c.token_url = "https://idp.example/token";
  c.client = {"interlock", "s3cret", ""};
  c.audience = "https://mcp.github.example";
  c.scope = {"repo:read"};
  return c;
}

CredentialBroker::Request Caller(std::optional<std::vector<std::string>> scopes = std::nullopt) {
  CredentialBroker::Request r;
  r.upstream = "github";
  r.agent_id = "deploy-agent";
  r.subject_token = Jwt({{"sub", "deploy@example.iam"}});
  r.subject = "iss\ndeploy@example.iam\nalice";
  r.scopes = std::move(scopes);
  return r;
}

// Tests that a well-formed exchange answer parses and an error answer names its code only.
TEST(TokenResponseTest, ParsesBearerAndRefusesTheRest) {
  auto ok = ParseTokenResponse(200, Answer("abc.def", 120, "repo:read repo:write"));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->access_token, "abc.def");
  EXPECT_EQ(*ok->expires_in, 120);
  EXPECT_EQ(ok->scope->size(), 2u);
  EXPECT_FALSE(ParseTokenResponse(200, R"({"access_token":"x","token_type":"mac"})").ok());
  EXPECT_FALSE(ParseTokenResponse(200, R"({"token_type":"Bearer"})").ok());
  EXPECT_FALSE(
      ParseTokenResponse(200, R"({"access_token":"a\r\nX: y","token_type":"Bearer"})").ok());
  EXPECT_FALSE(
      ParseTokenResponse(200, R"({"access_token":"x","token_type":"Bearer","expires_in":-1})")
          .ok());
  EXPECT_FALSE(ParseTokenResponse(200, "not json").ok());
  auto refused = ParseTokenResponse(400, R"({"error":"invalid_grant","error_description":"no\n"})");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("invalid_grant (no?)"), std::string::npos)
      << refused.error().message;
}

// Tests that a token's description reads the claims and refuses another audience or scope.
TEST(DescribeTokenTest, ReadsClaimsAndRefusesAnotherAudienceOrScope) {
  const std::string t = Jwt({{"iss", "https://idp"},
                             {"sub", "alice"},
                             {"aud", "https://mcp.github.example"},
                             {"act", {{"sub", "deploy@example.iam"}}},
                             {"scope", "repo:read"},
                             {"jti", "j-1"}});
  auto d = DescribeToken(t, "https://mcp.github.example", {"repo:read"});
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->issuer, "https://idp");
  EXPECT_EQ(d->subject, "alice");
  EXPECT_EQ(d->actor, "deploy@example.iam");
  EXPECT_EQ(d->fingerprint, "jti:j-1");
  EXPECT_FALSE(DescribeToken(t, "https://other", {"repo:read"}).ok());
  EXPECT_FALSE(DescribeToken(t, "https://mcp.github.example", {"repo:write"}).ok());
  auto opaque = DescribeToken("opaque-token", "aud", {});
  ASSERT_TRUE(opaque.ok());
  EXPECT_EQ(opaque->fingerprint.rfind("sha256:", 0), 0u);
  EXPECT_EQ(opaque->ToJson().find("opaque-token"), std::string::npos);
}

// Tests that the cache serves a credential until renew_before ahead of its expiry.
TEST(CredentialCacheTest, ServesUntilRenewalIsDue) {
  ManualClock clock(TimePoint(seconds(1000)));
  CredentialCache cache(&clock, 10);
  int fetches = 0;
  auto fetch = [&]() -> Result<Credential> {
    ++fetches;
    Credential c;
    c.access_token = "t" + std::to_string(fetches);
    c.expires_at = clock.Now() + seconds(300);
    return c;
  };
  EXPECT_EQ(cache.Get("k", seconds(60), fetch)->access_token, "t1");
  clock.Advance(seconds(239));
  EXPECT_EQ(cache.Get("k", seconds(60), fetch)->access_token, "t1");
  clock.Advance(seconds(1));  // 60 s before expiry: renewed
  EXPECT_EQ(cache.Get("k", seconds(60), fetch)->access_token, "t2");
  EXPECT_EQ(fetches, 2);
}

// Tests that a failed fetch is not cached: the next call asks again.
TEST(CredentialCacheTest, ErrorsAreNotCached) {
  ManualClock clock(TimePoint(seconds(1000)));
  CredentialCache cache(&clock, 10);
  int fetches = 0;
  auto fail = [&]() -> Result<Credential> {
    ++fetches;
    return Error::Unavailable("down");
  };
  EXPECT_FALSE(cache.Get("k", seconds(60), fail).ok());
  EXPECT_FALSE(cache.Get("k", seconds(60), fail).ok());
  EXPECT_EQ(fetches, 2);
  EXPECT_EQ(cache.size(), 0u);
}

// Tests that concurrent callers of one key share one fetch (single flight).
TEST(CredentialCacheTest, ConcurrentCallersShareOneFetch) {
  ManualClock clock(TimePoint(seconds(1000)));
  CredentialCache cache(&clock, 10);
  std::atomic<int> fetches{0};
  auto fetch = [&]() -> Result<Credential> {
    ++fetches;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    Credential c;
    c.access_token = "shared";
    c.expires_at = TimePoint(seconds(5000));
    return c;
  };
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (cache.Get("k", seconds(60), fetch).ok()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(fetches.load(), 1);
}

// Tests that the cache stays within its bound, dropping the entry expiring soonest.
TEST(CredentialCacheTest, StaysBounded) {
  ManualClock clock(TimePoint(seconds(1000)));
  CredentialCache cache(&clock, 2);
  auto make = [&](int ttl) {
    return [&clock, ttl]() -> Result<Credential> {
      Credential c;
      c.access_token = std::to_string(ttl);
      c.expires_at = clock.Now() + seconds(ttl);
      return c;
    };
  };
  ASSERT_TRUE(cache.Get("a", seconds(0), make(100)).ok());
  ASSERT_TRUE(cache.Get("b", seconds(0), make(300)).ok());
  ASSERT_TRUE(cache.Get("c", seconds(0), make(200)).ok());
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.Get("b", seconds(0), make(1))->access_token, "300");  // kept
  EXPECT_EQ(cache.Get("a", seconds(0), make(1))->access_token, "1");    // dropped, refetched
}

// Tests that the exchange asks for the tool's scopes only, for the upstream's audience.
TEST(CredentialBrokerTest, ExchangeAsksForTheToolsScopesAndAudience) {
  ManualClock clock(TimePoint(seconds(1000)));
  FakeEndpoint ep;
  ep.body = Answer(Jwt({{"aud", "https://mcp.github.example"},
                        {"scope", "repo:write"},
                        {"jti", "x"},
                        {"sub", "alice"}}),
                   300, "repo:write");
  CredentialBroker broker({Exchange()}, &ep, &clock);
  auto c = broker.Get(Caller(std::vector<std::string>{"repo:write"}));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_NE(
      ep.last_form.find("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange"),
      std::string::npos);
  EXPECT_NE(ep.last_form.find("&scope=repo%3Awrite"), std::string::npos) << ep.last_form;
  EXPECT_EQ(ep.last_form.find("repo%3Aread"), std::string::npos) << ep.last_form;
  EXPECT_NE(ep.last_form.find("audience=https%3A%2F%2Fmcp.github.example"), std::string::npos);
  EXPECT_EQ(c->record.scopes, std::vector<std::string>{"repo:write"});
  EXPECT_EQ(c->record.kind, CredentialKind::kTokenExchange);
  // Cached: the same subject, audience and scopes ask nothing more.
  ASSERT_TRUE(broker.Get(Caller(std::vector<std::string>{"repo:write"})).ok());
  EXPECT_EQ(ep.posts.load(), 1);
}

// Tests that an answer granting more than was asked for is refused (a broader credential).
TEST(CredentialBrokerTest, BroaderGrantIsRefused) {
  ManualClock clock(TimePoint(seconds(1000)));
  FakeEndpoint ep;
  ep.body = Answer("opaque", 300, "repo:read admin");
  CredentialBroker broker({Exchange()}, &ep, &clock);
  auto c = broker.Get(Caller());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message.rfind("CREDENTIAL_UNAVAILABLE: ", 0), 0u) << c.error().message;
}

// Tests that a caller without a JWT gets no exchange, and the endpoint is not asked.
TEST(CredentialBrokerTest, NoSubjectTokenNoExchange) {
  ManualClock clock(TimePoint(seconds(1000)));
  FakeEndpoint ep;
  CredentialBroker broker({Exchange()}, &ep, &clock);
  CredentialBroker::Request rq = Caller();
  rq.subject_token.clear();
  auto c = broker.Get(rq);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("CREDENTIAL_UNAVAILABLE"), std::string::npos);
  EXPECT_EQ(ep.posts.load(), 0);
}

// Tests that an unreachable endpoint is CREDENTIAL_UNAVAILABLE and never quotes the secret.
TEST(CredentialBrokerTest, EndpointFailureIsUnavailable) {
  ManualClock clock(TimePoint(seconds(1000)));
  FakeEndpoint ep;
  ep.error = "connecting to the identity provider's token endpoint failed: refused";
  CredentialBroker broker({Exchange()}, &ep, &clock);
  auto c = broker.Get(Caller());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("CREDENTIAL_UNAVAILABLE"), std::string::npos);
  EXPECT_EQ(c.error().message.find("s3cret"), std::string::npos);
}

// Tests that a cached credential never outlives the caller's token it was exchanged for.
TEST(CredentialBrokerTest, CredentialNeverOutlivesTheSubjectToken) {
  ManualClock clock(TimePoint(seconds(1000)));
  FakeEndpoint ep;
  ep.body = Answer("opaque", 3600);
  CredentialBroker broker({Exchange()}, &ep, &clock);
  CredentialBroker::Request rq = Caller();
  rq.subject_expires_at = clock.Now() + seconds(120);
  auto c = broker.Get(rq);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->expires_at, clock.Now() + seconds(120));
}

// Tests that client credentials use the agent's own client when it has one.
TEST(CredentialBrokerTest, ClientCredentialsPerAgent) {
  ManualClock clock(TimePoint(seconds(1000)));
  FakeEndpoint ep;
  ep.body = Answer("opaque", 300);
  CredentialConfig c = Exchange();
  c.kind = CredentialKind::kClientCredentials;
  c.agents["deploy-agent"] = {"deploy-client", "d-secret", ""};
  CredentialBroker broker({c}, &ep, &clock);
  CredentialBroker::Request rq = Caller();
  rq.subject_token.clear();
  ASSERT_TRUE(broker.Get(rq).ok());
  EXPECT_EQ(ep.last_client, "deploy-client");
  EXPECT_NE(ep.last_form.find("grant_type=client_credentials"), std::string::npos);
  rq.agent_id = "other-agent";
  auto other = broker.Get(rq);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(ep.last_client, "interlock");
  EXPECT_EQ(other->record.subject, "interlock");
  EXPECT_EQ(ep.posts.load(), 2);  // two identities, two tokens
}

// Tests that configuration errors are caught: plain http off loopback, no audience.
TEST(CredentialConfigTest, RefusesPlainHttpAndMissingAudience) {
  CredentialConfig c = Exchange();
  EXPECT_TRUE(ValidateCredentialConfig(c).ok());
  c.token_url = "http://idp.example/token";
  EXPECT_FALSE(ValidateCredentialConfig(c).ok());
  c.token_url = "http://127.0.0.1:9/token";
  EXPECT_TRUE(ValidateCredentialConfig(c).ok());
  c.audience.clear();
  EXPECT_FALSE(ValidateCredentialConfig(c).ok());
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::identity
