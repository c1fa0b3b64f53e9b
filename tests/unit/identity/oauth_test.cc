// OAuth access tokens for /mcp/{upstream} (Verifier::VerifyAccessToken, identity/oauth.h),
// issuer binding (IssuerConfig::identities) and the identity.oauth config section: one test
// per confusion they must stop.
#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json/serialize.hpp>

#include "daemon/config.h"
#include "identity/jwt.h"
#include "identity/oauth.h"
#include "identity/verifier.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "test_idp.h"

namespace interlock::identity {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;
using testing::JwksOf;
using testing::MakeKey;
using testing::SignJwt;
using testing::TestKey;

constexpr const char* kAs = "https://as.test";
constexpr const char* kCi = "https://ci.test";
constexpr int64_t kNow = 1'800'000'000;
constexpr const char* kResource = "https://gw.example/mcp/github";

class KeysByIssuer : public JwksFetcher {
 public:
  Result<std::string> Fetch(const IssuerConfig& c) override { return c.issuer == kAs ? as : ci; }
  std::string as, ci;
};

class AccessTokens : public ::testing::Test {
 protected:
  AccessTokens() : clock_(TimePoint(std::chrono::seconds(kNow))) {
    fetcher_.as = JwksOf({as_key_});
    fetcher_.ci = JwksOf({ci_key_});
    IssuerConfig as;
    as.issuer = kAs;
    as.audience = "interlock";
    as.jwks_uri = "https://as.test/jwks";
    as.identities = {"deploy-agent@myco.iam", "spiffe://prod.example/*"};
    IssuerConfig ci = as;
    ci.issuer = kCi;
    ci.jwks_uri = "https://ci.test/jwks";
    ci.identities.clear();
    verifier_ = std::make_unique<Verifier>(std::vector{as, ci}, &fetcher_, &clock_);
    verifier_->RefreshDue();  // as the daemon does at start
  }
  std::string Token(const TestKey& k, const std::string& iss, const json::value& aud,
                    const std::string& sub = "alice") {
    return SignJwt(k, {{"alg", k.alg}, {"kid", k.kid}},
                   {{"iss", iss},
                    {"aud", aud},
                    {"sub", sub},
                    {"client_id", "dyn-1"},
                    {"iat", kNow - 5},
                    {"exp", kNow + 300}});
  }
  const std::vector<std::string> servers_{kAs};
  TestKey as_key_ = MakeKey("as-1", "ES256");
  TestKey ci_key_ = MakeKey("ci-1", "ES256");
  ManualClock clock_;
  KeysByIssuer fetcher_;
  std::unique_ptr<Verifier> verifier_;
};

// Tests that an access token verified for one resource is not accepted for another, nor as a
// workload identity.
TEST_F(AccessTokens, TokenVerifiedForOneResourceIsNotAcceptedForAnother) {
  const std::string t = Token(as_key_, kAs, json::value(kResource));
  auto ok = verifier_->VerifyAccessToken(t, kResource, servers_);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->agent, "alice");
  EXPECT_EQ(ok->on_behalf_of, "alice");
  EXPECT_EQ(ok->client_id, "dyn-1");
  // Cached for kResource only: the same token elsewhere is verified (and refused) afresh.
  auto other = verifier_->VerifyAccessToken(t, "https://gw.example/mcp/other", servers_);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(RefusalCode(other.error()), code::kAudience);
  auto workload = verifier_->Verify(t);
  ASSERT_FALSE(workload.ok());
  EXPECT_EQ(RefusalCode(workload.error()), code::kAudience);
}

// Tests that a workload token (aud = the audience) is not an access token for a resource.
TEST_F(AccessTokens, WorkloadTokenIsNotAnAccessToken) {
  const std::string t = Token(as_key_, kAs, json::value("interlock"), "deploy-agent@myco.iam");
  ASSERT_TRUE(verifier_->Verify(t).ok());
  auto r = verifier_->VerifyAccessToken(t, kResource, servers_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(RefusalCode(r.error()), code::kAudience);
}

// Tests that a token of an issuer that is not an authorization server here is refused.
TEST_F(AccessTokens, IssuerThatIsNoAuthorizationServerIsRefused) {
  // The CI issuer is trusted for workload JWTs, not as an authorization server.
  auto r = verifier_->VerifyAccessToken(Token(ci_key_, kCi, json::value(kResource)), kResource,
                                        servers_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(RefusalCode(r.error()), code::kIssuer);
}

// Tests that a token whose aud names several resources is refused.
TEST_F(AccessTokens, TokenForSeveralResourcesIsRefused) {
  auto r = verifier_->VerifyAccessToken(
      Token(as_key_, kAs, json::array{kResource, "https://gw.example/mcp/other"}), kResource,
      servers_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(RefusalCode(r.error()), code::kAudience);
  EXPECT_TRUE(
      verifier_->VerifyAccessToken(Token(as_key_, kAs, json::array{kResource}), kResource, servers_)
          .ok());
}

// Tests that an issuer cannot assert an identity bound to another issuer.
TEST_F(AccessTokens, OtherIssuerCannotAssertBoundIdentity) {
  for (const char* bound : {"deploy-agent@myco.iam", "spiffe://prod.example/agents/x"}) {
    auto ci = verifier_->Verify(Token(ci_key_, kCi, json::value("interlock"), bound));
    ASSERT_FALSE(ci.ok()) << bound;
    EXPECT_EQ(RefusalCode(ci.error()), code::kIssuerNotBound) << ci.error().message;
    EXPECT_TRUE(verifier_->Verify(Token(as_key_, kAs, json::value("interlock"), bound)).ok());
  }
  // Unbound identities: the CI issuer may; the bound issuer may not (outside its list).
  EXPECT_TRUE(verifier_->Verify(Token(ci_key_, kCi, json::value("interlock"), "repo:x")).ok());
  auto as = verifier_->Verify(Token(as_key_, kAs, json::value("interlock"), "repo:x"));
  ASSERT_FALSE(as.ok());
  EXPECT_EQ(RefusalCode(as.error()), code::kIssuerNotBound);
  // A prefix pattern is a prefix, not a substring.
  EXPECT_TRUE(
      verifier_->Verify(Token(ci_key_, kCi, json::value("interlock"), "x-spiffe://prod.example/"))
          .ok());
}

// Tests that identity patterns accept * only at the end and never alone.
TEST(IdentityPattern, StarOnlyAtTheEndAndNotAlone) {
  IssuerConfig c;
  c.issuer = kAs;
  c.audience = "a";
  for (const char* bad : {"*", "", "spiffe://*/agents", "a*b*"}) {
    c.identities = {bad};
    EXPECT_FALSE(ValidateIssuerConfig(c).ok()) << bad;
  }
  c.identities = {"spiffe://prod/*", "exact@x"};
  EXPECT_TRUE(ValidateIssuerConfig(c).ok());
  EXPECT_TRUE(IdentityPatternMatches("spiffe://prod/*", "spiffe://prod/a"));
  EXPECT_FALSE(IdentityPatternMatches("spiffe://prod/*", "spiffe://prodx/a"));
  EXPECT_FALSE(IdentityPatternMatches("exact@x", "exact@x2"));
}

// Tests that the metadata URL inserts the well-known segment before the resource path.
TEST(OAuthUrls, MetadataUrlInsertsTheWellKnownBeforeThePath) {
  EXPECT_EQ(McpResourceMetadataUrl("https://gw.example", "github"),
            "https://gw.example/.well-known/oauth-protected-resource/mcp/github");
  EXPECT_EQ(McpResourceMetadataUrl("https://gw.example/interlock", "github"),
            "https://gw.example/.well-known/oauth-protected-resource/interlock/mcp/github");
  EXPECT_EQ(UpstreamOfMetadataPath("https://gw.example/interlock",
                                   "/.well-known/oauth-protected-resource/interlock/mcp/github"),
            "github");
  EXPECT_EQ(
      UpstreamOfMetadataPath("https://gw.example", "/.well-known/oauth-protected-resource/mcp/a/b"),
      "");
  EXPECT_EQ(UpstreamOfMetadataPath("https://gw.example", "/.well-known/oauth-protected-resource"),
            "");
  OAuthConfig c;
  c.authorization_servers = {kAs};
  c.scopes_supported = {"mcp", "tools"};
  EXPECT_EQ(BearerChallenge(c, "https://gw.example", "github", true),
            "Bearer resource_metadata=\"https://gw.example/.well-known/oauth-protected-resource/"
            "mcp/github\", scope=\"mcp tools\", error=\"invalid_token\"");
}

server::ServerConfig LoadConfig(const std::string& text, Status* st) {
  static testing::TempDir dir;
  server::ServerConfig c;
  *st = server::LoadServerConfig(dir.Write("interlock.yaml", text), &c);
  return c;
}

// Tests that the OAuth config loads and refuses what cannot be right.
TEST(OAuthConfigTest, LoadsAndRefusesWhatCannotBeRight) {
  const std::string issuers =
      "identity:\n  jwt:\n    - {issuer: \"https://as.test\", audience: interlock, identities: "
      "[\"a@x\", \"spiffe://p/*\"]}\n";
  const std::string mcp = "mcp:\n  upstreams:\n    github: {command: [\"true\"]}\n";
  Status st;
  server::ServerConfig c = LoadConfig(
      issuers +
          "  oauth:\n    resource_base: \"https://gw.example\"\n    authorization_servers: "
          "[\"https://as.test\"]\n    scopes_supported: [mcp]\n    agents: {github: gh-agent}\n" +
          mcp,
      &st);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_TRUE(c.oauth.enabled());
  EXPECT_EQ(c.oauth.agents.at("github"), "gh-agent");
  EXPECT_EQ(c.jwt_issuers[0].identities.size(), 2u);
  for (const std::string& bad : std::vector<std::string>{
           // an authorization server that is no identity.jwt issuer (whose keys?)
           issuers + "  oauth:\n    authorization_servers: [\"https://other.test\"]\n",
           // no authorization server
           issuers + "  oauth:\n    agents: {github: gh}\n" + mcp,
           // an agent for an upstream that does not exist
           issuers +
               "  oauth:\n    authorization_servers: [\"https://as.test\"]\n    agents: "
               "{gitlab: gh}\n" +
               mcp,
           // a resource base with a query, or a trailing slash
           issuers + "  oauth:\n    authorization_servers: [\"https://as.test\"]\n    "
                     "resource_base: \"https://gw.example/?x=1\"\n",
           issuers + "  oauth:\n    authorization_servers: [\"https://as.test\"]\n    "
                     "resource_base: \"https://gw.example/\"\n",
           // a scope that would break the challenge's quoting
           issuers + "  oauth:\n    authorization_servers: [\"https://as.test\"]\n    "
                     "scopes_supported: [\"a\\\"b\"]\n",
           issuers +
               "  oauth:\n    authorization_servers: [\"https://as.test\"]\n    audience: x\n",
           std::string("identity:\n  jwt:\n    - {issuer: \"https://as.test\", audience: a, "
                       "identities: [\"*\"]}\n"),
       }) {
    LoadConfig(bad, &st);
    EXPECT_FALSE(st.ok()) << bad;
  }
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::identity
