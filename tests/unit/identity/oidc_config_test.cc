// identity.oidc in the daemon config (docs/identity.md, "Reviewer sign-in with OpenID
// Connect"): what is accepted, and every mistake refused with the key named.
#include <string>

#include <gtest/gtest.h>

#include "core/roles.h"
#include "daemon/config.h"
#include "identity/oidc_signin.h"
#include "subprocess.h"
#include "temp_dir.h"

namespace interlock::identity {
namespace INTERLOCK_TEST_NS {

Status Load(const std::string& body, server::ServerConfig* c) {
  static testing::TempDir dir;
  return server::LoadServerConfig(dir.Write("interlock.yaml", "identity:\n  oidc:\n" + body), c);
}

const std::string kGood =
    "    issuer: \"https://idp.example.com\"\n    client_id: interlock\n"
    "    client_secret_file: secret\n    reviewer_values: [reviewers]\n";

// Tests that a complete identity.oidc loads with its defaults.
TEST(OidcConfig, LoadsWithDefaults) {
  server::ServerConfig c;
  Status st = Load(kGood + "    admin_values: [admins]\n    session_seconds: 3600\n", &c);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(c.oidc.issuer, "https://idp.example.com");
  EXPECT_EQ(c.oidc.role_claim, "groups");
  EXPECT_EQ(c.oidc.session_lifetime, std::chrono::seconds(3600));
  EXPECT_TRUE(c.oidc.client_secret_file.ends_with("/secret"));  // relative to the file
  EXPECT_EQ(OidcPrincipalName("alice", c.oidc.issuer), "oidc:alice@idp.example.com");
  EXPECT_EQ(OidcPrincipalName("bob", "https://127.0.0.1:8443/realm"), "oidc:bob@127.0.0.1");
}

// Tests that each mistake stops the daemon naming the key.
TEST(OidcConfig, MistakesNameTheKey) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"    issuer: \"http://idp.example.com\"\n    client_id: c\n    client_secret_file: s\n"
       "    reviewer_values: [r]\n",
       "identity.oidc.issuer must be an https:// URL"},
      {"    issuer: \"https://idp.example.com\"\n    client_secret_file: s\n"
       "    reviewer_values: [r]\n",
       "identity.oidc.client_id is required"},
      {"    issuer: \"https://idp.example.com\"\n    client_id: c\n    reviewer_values: [r]\n",
       "identity.oidc.client_secret_file is required"},
      {"    issuer: \"https://idp.example.com\"\n    client_id: c\n    client_secret_file: s\n",
       "identity.oidc.reviewer_values or admin_values must list at least one value"},
      {kGood + "    session_seconds: 999999\n",
       "identity.oidc.session_seconds must be between 60 and 86400"},
      {kGood + "    scopes: [profile]\n", "identity.oidc.scopes must include openid"},
      {kGood + "    redirect_uri: \"https://x.example/elsewhere\"\n",
       "identity.oidc.redirect_uri must be an http(s) URL ending in /ui/oidc/callback"},
      {kGood + "    clientid: c\n", "unknown key 'identity.oidc.clientid'"},
  };
  for (const auto& [body, want] : cases) {
    server::ServerConfig c;
    Status st = Load(body, &c);
    ASSERT_FALSE(st.ok()) << want;
    EXPECT_NE(st.error().message.find(want), std::string::npos) << st.error().message;
  }
}

// Tests that no reviewer or admin token can be named like a signed-in person (it would
// count as them for the two-person rule), in any case or width.
TEST(OidcConfig, TokensCannotTakeAnOidcName) {
  for (const char* name : {"oidc:alice@idp.example.com", "OIDC:alice@idp.example.com",
                           "\uFF4Fidc:alice@idp.example.com"}) {
    EXPECT_FALSE(core::CheckTokenSpec(core::Role::kReviewer, name, "").ok()) << name;
    EXPECT_FALSE(core::CheckTokenSpec(core::Role::kAdmin, name, "").ok()) << name;
  }
  EXPECT_TRUE(core::CheckTokenSpec(core::Role::kReviewer, "alice", "").ok());
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::identity
