// Reviewer sign-in with OpenID Connect, the whole flow in real Chromium (docs/identity.md):
// tests/browser/oidc.mjs against the daemon (daemon harness, 127.0.0.1 port 0) and a real
// OpenID provider (tests/idp/idp.mjs, npm oidc-provider, https with a test certificate).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "chromium_test.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

class OidcBrowser : public ChromiumTest {};

constexpr char kAgent[] = R"(agent:
  id: "browser-agent"
  identity: "browser-agent@example.iam"
tools:
  allowed:
    - name: "send_email"
      requires_approval: true
      approval_timeout_seconds: 300
)";

// Tests that a reviewer clicks "Sign in with Test IdP", signs in on the provider's page,
// lands on /ui/ signed in, approves a pending call (the agent gets allow), and the audit
// record of the vote names oidc:alice@127.0.0.1; then signs out. And a person in neither
// group (mallory) signs in at the provider and gets the refusal page, no session.
TEST_F(OidcBrowser, SignInWithTheProviderAndApprove) {
  ASSERT_EQ(RunSetupScriptOnce(src_ + "/scripts/setup-idp.sh"), "");

  const TestCert cert = MakeSelfSignedCert(dir_.path(), "idp", "IP:127.0.0.1");
  ASSERT_EQ(cert.error, "");
  ServiceChild idp({"node", src_ + "/tests/idp/idp.mjs", "--cert", cert.cert, "--key", cert.key,
                    "--native-client",
                    "interlock-console:browser-secret:http://127.0.0.1/ui/oidc/callback"});
  const std::string hello = idp.FirstLine(std::chrono::seconds(30));
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(hello, ec);
  ASSERT_TRUE(!ec && v.is_object() && v.as_object().contains("issuer")) << hello;
  const std::string issuer(v.at("issuer").as_string());

  const std::string policies = WriteAgentPolicy(kAgent);
  dir_.Write("secret", "browser-secret\n");
  const std::string config = dir_.Write(
      "interlock.yaml", "identity:\n  oidc:\n    issuer: \"" + issuer +
                            "\"\n    client_id: interlock-console\n"
                            "    client_secret_file: secret\n    ca_file: \"" +
                            cert.cert +
                            "\"\n    name: \"Test IdP\"\n"
                            "    scopes: [openid, profile, groups]\n"
                            "    reviewer_values: [reviewers]\n    admin_values: [admins]\n");
  Daemon daemon(dir_.path(), policies, config);
  const std::string agent = CreateToken(daemon.store(), "--agent", "browser-agent");
  const std::string admin = CreateToken(daemon.store(), "--admin", "ada");
  ASSERT_TRUE(daemon.Start()) << daemon.log();

  ProcessResult r = RunScript("oidc.mjs", {Url(daemon), agent, "alice", artifacts_, "mallory"},
                              std::chrono::seconds(120));
  EXPECT_FALSE(r.timed_out);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << daemon.log();
  EXPECT_NE(r.out.find("sign-in: ok"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("sign-out: ok"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("no role: ok"), std::string::npos) << r.out;
  const size_t at = r.out.find("approve: ok ");
  ASSERT_NE(at, std::string::npos) << r.out;
  const std::string approval = r.out.substr(at + 12, r.out.find('\n', at) - at - 12);

  // The audit trail names the provider's subject as the reviewer.
  HttpClient client(daemon.port());
  HttpResult a = client.Request("GET", "/v1/approvals/" + approval, "", admin);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_NE(a.body.find("\"oidc:alice@127.0.0.1\""), std::string::npos) << a.body;
  HttpResult audit = client.Request("GET", "/v1/audit?q=oidc%3Aalice%40127.0.0.1", "", admin);
  ASSERT_EQ(audit.status, 200) << audit.body;
  EXPECT_NE(audit.body.find("oidc:alice@127.0.0.1"), std::string::npos) << audit.body;
  EXPECT_TRUE(std::filesystem::exists(artifacts_ + "/oidc-approve.png"));
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
