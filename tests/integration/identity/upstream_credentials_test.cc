// Upstream credentials (docs/identity.md#upstream-credentials): the daemon's /mcp/{upstream}
// obtains each call's credential from a real identity provider on 127.0.0.1
// (tests/idp/idp.mjs, npm oidc-provider, over https with a test CA made here): RFC 8693 token
// exchange of the caller's JWT, and client credentials per agent. The upstream is a real
// MCP server (the official SDK, tests/idp/mcp_token_upstream.mjs) that verifies every token
// it receives against the provider's JWKS (signature, issuer, audience) and checks each
// tool's scope, and reports what it was sent (GET /seen).
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "daemon_harness.h"
#include "json_lines.h"
#include "mcp_headers.h"
#include "subprocess.h"
#include "temp_dir.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;
namespace fs = std::filesystem;

const std::string kSource = INTERLOCK_SOURCE_DIR;
const std::string kSdk =
    kSource + "/tests/integration/mcp/node/node_modules/@modelcontextprotocol/sdk";
constexpr char kGithubAudience[] = "http://127.0.0.1/github";
constexpr char kTicketsAudience[] = "http://127.0.0.1/tickets";

constexpr char kDeployPolicy[] = R"(agent:
  id: "deploy-agent"
  identity: "deploy@example.iam"
  autonomy: audit_based
tools:
  allowed:
    - name: "whoami"
    - name: "read_repo"
    - name: "write_repo"
      credential_scope: ["repo:write"]
    - name: "leak"
    - name: "leak-error"
    - name: "leak-http-error"
    - name: "get-env"
)";

constexpr char kReviewPolicy[] = R"(agent:
  id: "review-agent"
  identity: "review@example.iam"
  autonomy: audit_based
tools:
  allowed:
    - name: "whoami"
    - name: "read_repo"
)";

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The first line a service printed, parsed (null when it is not JSON).
json::value FirstJsonLine(ServiceChild& c, std::chrono::milliseconds timeout) {
  boost::system::error_code ec;
  json::value v = json::parse(c.FirstLine(timeout), ec);
  return ec ? json::value() : v;
}

// The JSON-RPC response in an MCP POST's answer (JSON, or the last SSE data line with an id).
json::value RpcAnswer(const std::string& body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (!ec) return v;
  json::value last;
  std::istringstream lines(body);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("data: ", 0) != 0) continue;
    json::value d = json::parse(line.substr(6), ec);
    if (!ec && d.is_object() && d.as_object().contains("id")) last = d;
  }
  return last;
}

class CredentialTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setup_error_ = RunSetupScriptOnce(kSource + "/scripts/setup-node-tests.sh");
    if (setup_error_.empty()) setup_error_ = RunSetupScriptOnce(kSource + "/scripts/setup-idp.sh");
  }

  void SetUp() override {
    ASSERT_EQ(setup_error_, "");
    ca_ = MakeTestCa(dir_.path());
    ASSERT_EQ(ca_.error, "");
    // The key of a client that signs its assertions (RFC 7523) instead of holding a secret.
    assertion_key_ = dir_.path() + "/assertion-key.pem";
    const std::string assertion_pub = dir_.path() + "/assertion-pub.pem";
    ASSERT_EQ(RunProcess({"/usr/bin/env", "openssl", "genpkey", "-algorithm", "ed25519", "-out",
                          assertion_key_},
                         "", std::chrono::seconds(30))
                  .exit_code,
              0);
    ASSERT_EQ(RunProcess({"/usr/bin/env", "openssl", "pkey", "-in", assertion_key_, "-pubout",
                          "-out", assertion_pub},
                         "", std::chrono::seconds(30))
                  .exit_code,
              0);
    idp_ = std::make_unique<ServiceChild>(std::vector<std::string>{
        "node", kSource + "/tests/idp/idp.mjs", "--cert", ca_.cert, "--key", ca_.key,
        "--exchange-client", "interlock:" + std::string(kSecret), "--exchange-client",
        "deploy-client:deploy-secret-value-1", "--exchange-client",
        "review-client:review-secret-value-2", "--assertion-client",
        "signed-client:" + assertion_pub, "--exchange-scopes", "repo:read repo:write"});
    // 60 s: a cold node start of the provider on a loaded 2-core CI machine took over 30 s
    // once (the provider itself answers in milliseconds once up).
    issuer_ = Str(FirstJsonLine(*idp_, std::chrono::seconds(60)), "issuer");
    ASSERT_FALSE(issuer_.empty()) << "the provider did not start";
    github_ = StartUpstream(kGithubAudience, &github_port_);
    tickets_ = StartUpstream(kTicketsAudience, &tickets_port_);
    ASSERT_NE(github_port_, 0);
    ASSERT_NE(tickets_port_, 0);

    policies_ = dir_.path() + "/policies";
    fs::create_directories(policies_);
    std::ofstream(policies_ + "/deploy.yaml") << kDeployPolicy;
    std::ofstream(policies_ + "/review.yaml") << kReviewPolicy;
    const std::string secret = dir_.Write("idp-secret", std::string(kSecret) + "\n");
    const std::string deploy_secret = dir_.Write("deploy-secret", "deploy-secret-value-1\n");
    const std::string review_secret = dir_.Write("review-secret", "review-secret-value-2\n");
    const std::string common =
        "          token_url: \"" + issuer_ + "/token\"\n" + "          ca_file: \"" + ca_.ca +
        "\"\n" + "          client_id: interlock\n" + "          client_secret_file: \"" + secret +
        "\"\n" + "          timeout_ms: 15000\n";
    const std::string config = dir_.Write(
        "interlock.yaml",
        "durability: normal\n"
        "identity:\n"
        "  jwt:\n"
        "    - issuer: \"" +
            issuer_ + "\"\n      audience: \"interlock\"\n      ca_file: \"" + ca_.ca +
            "\"\n      on_behalf_of_claim: \"on_behalf_of\"\n"
            "mcp:\n"
            "  upstreams:\n"
            "    github:\n"
            "      url: \"http://127.0.0.1:" +
            std::to_string(github_port_) +
            "/mcp\"\n"
            "      credentials:\n"
            "        token_exchange:\n" +
            common + "          audience: \"" + kGithubAudience + "\"\n" +
            "          scope: \"repo:read\"\n"
            // The same upstream with a short bound, for the timeout test only: the others
            // allow 15 s, since a cold provider's first grant on a loaded 2-core CI machine
            // is slow (a 1.5 s bound failed two tests there).
            "    github-short:\n"
            "      url: \"http://127.0.0.1:" +
            std::to_string(github_port_) +
            "/mcp\"\n"
            "      credentials:\n"
            "        token_exchange:\n" +
            std::regex_replace(common, std::regex("timeout_ms: 15000"), "timeout_ms: 1500") +
            "          audience: \"" + kGithubAudience + "\"\n" +
            "          scope: \"repo:read\"\n"
            // The same upstream renewing its credentials 4 s after they are issued (the
            // provider issues them for 300 s), for the renewal test only.
            "    github-renew:\n"
            "      url: \"http://127.0.0.1:" +
            std::to_string(github_port_) +
            "/mcp\"\n"
            "      credentials:\n"
            "        token_exchange:\n" +
            common + "          audience: \"" + kGithubAudience + "\"\n" +
            "          scope: \"repo:read\"\n"
            "          renew_before_seconds: 296\n"
            "    tickets:\n"
            "      url: \"http://127.0.0.1:" +
            std::to_string(tickets_port_) +
            "/mcp\"\n"
            "      credentials:\n"
            "        client_credentials:\n" +
            common + "          audience: \"" + kTicketsAudience + "\"\n" +
            "          scope: \"repo:read\"\n"
            "          agents:\n"
            "            deploy-agent: {client_id: deploy-client, client_secret_file: \"" +
            deploy_secret + "\"}\n" +
            "            review-agent: {client_id: review-client, client_secret_file: \"" +
            review_secret + "\"}\n" +
            "    signed:\n"
            "      url: \"http://127.0.0.1:" +
            std::to_string(tickets_port_) +
            "/mcp\"\n"
            "      credentials:\n"
            "        client_credentials:\n"
            "          token_url: \"" +
            issuer_ + "/token\"\n          ca_file: \"" + ca_.ca +
            "\"\n          client_id: signed-client\n"
            "          client_assertion: {key_file: \"" +
            assertion_key_ + "\"}\n          audience: \"" + kTicketsAudience + "\"\n" +
            "          scope: \"repo:read\"\n" +
            "    everything:\n"
            "      command: [\"node\", \"" +
            kSource +
            "/tests/integration/mcp/node/node_modules/@modelcontextprotocol/server-everything/"
            "dist/index.js\", \"stdio\"]\n"
            "      credentials:\n"
            "        client_credentials:\n" +
            common + "          scope: \"repo:read\"\n          env: EVERYTHING_TOKEN\n" +
            "          agents:\n"
            "            deploy-agent: {client_id: deploy-client, client_secret_file: \"" +
            deploy_secret + "\"}\n" +
            // Renewed 299 s ahead of the provider's 300 s: due one second after the start.
            "    renewing:\n"
            "      command: [\"node\", \"" +
            kSource +
            "/tests/integration/mcp/node/node_modules/@modelcontextprotocol/server-everything/"
            "dist/index.js\", \"stdio\"]\n"
            "      credentials:\n"
            "        client_credentials:\n" +
            common + "          scope: \"repo:read\"\n          renew_before_seconds: 299\n");
    daemon_ = std::make_unique<Daemon>(dir_.path(), policies_, config);
    ASSERT_TRUE(daemon_->Start(std::chrono::seconds(60))) << daemon_->log();
    client_ = std::make_unique<HttpClient>(daemon_->port());
    deploy_jwt_ = WorkloadToken("deploy@example.iam", "alice");
    review_jwt_ = WorkloadToken("review@example.iam", "bob");
    ASSERT_FALSE(deploy_jwt_.empty());
  }

  void TearDown() override {
    client_.reset();
    if (daemon_ && daemon_->Running()) {
      EXPECT_EQ(daemon_->Stop(), 0) << daemon_->log();
    }
  }

  std::unique_ptr<ServiceChild> StartUpstream(const std::string& audience, int* port) {
    auto c = std::make_unique<ServiceChild>(
        std::vector<std::string>{"/usr/bin/env", "NODE_EXTRA_CA_CERTS=" + ca_.ca, "node",
                                 kSource + "/tests/idp/mcp_token_upstream.mjs", "--issuer", issuer_,
                                 "--audience", audience, "--sdk", kSdk});
    json::value hello = FirstJsonLine(*c, std::chrono::seconds(30));
    *port = hello.is_object() && hello.as_object().contains("port")
                ? static_cast<int>(hello.at("port").as_int64())
                : 0;
    return c;
  }

  // POSTs `body` (JSON) to the provider over https (node's fetch trusting the test CA).
  json::value Idp(const std::string& path, const std::string& body, const std::string& basic = "",
                  const std::string& content_type = "application/json") {
    const std::string script =
        "const [u, b, a, t] = process.argv.slice(1);"
        "const h = {'content-type': t}; if (a) h.authorization = 'Basic ' + "
        "Buffer.from(a).toString('base64');"
        "fetch(u, {method: b === '-' ? 'GET' : 'POST', headers: h, body: b === '-' ? undefined : "
        "b}).then(r => r.text()).then(x => process.stdout.write(x));";
    ProcessResult r = RunProcess({"/usr/bin/env", "NODE_EXTRA_CA_CERTS=" + ca_.ca, "node", "-e",
                                  script, issuer_ + path, body, basic, content_type},
                                 "", std::chrono::seconds(30));
    boost::system::error_code ec;
    json::value v = json::parse(r.out, ec);
    return ec ? json::value() : v;
  }
  std::string WorkloadToken(const std::string& sub, const std::string& human) {
    return Str(Idp("/test/workload-token",
                   json::serialize(json::object{{"sub", sub}, {"on_behalf_of", human}})),
               "token");
  }
  void Mode(const std::string& mode) {
    Idp("/test/mode", json::serialize(json::object{{"mode", mode}}));
  }
  int64_t Grants(const char* which) {
    json::value v = Idp("/test/stats", "-");
    return v.is_object() && v.as_object().contains(which) ? v.at(which).as_int64() : -1;
  }
  json::array Seen(int port) {
    HttpClient c(port);
    HttpResult r = c.Request("GET", "/seen");
    return r.json.is_array() ? r.json.as_array() : json::array();
  }
  // What `port`'s upstream was sent for tool calls of `tool`.
  std::vector<json::object> SeenCalls(int port, const std::string& tool) {
    std::vector<json::object> out;
    for (const json::value& e : Seen(port)) {
      if (Str(e, "method") == "tools/call" && Str(e, "tool") == tool) out.push_back(e.as_object());
    }
    return out;
  }

  HttpResult Post(const std::string& upstream, const std::string& body, const std::string& token,
                  const std::string& session = "") {
    return client_->Request("POST", "/mcp/" + upstream, body, token, std::chrono::seconds(30),
                            McpHeaders(session));
  }
  // initialize + notifications/initialized; the session id ("" on failure, with *answer set).
  std::string Open(const std::string& upstream, const std::string& token,
                   HttpResult* answer = nullptr) {
    HttpResult r = Post(upstream,
                        R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{)"
                        R"("protocolVersion":"2025-06-18","capabilities":{},)"
                        R"("clientInfo":{"name":"raw","version":"1"}}})",
                        token);
    if (answer != nullptr) *answer = r;
    const std::string session =
        r.headers.count("mcp-session-id") ? r.headers["mcp-session-id"] : "";
    const json::value rpc = RpcAnswer(r.body);
    if (session.empty() || !rpc.is_object() || rpc.as_object().contains("error")) return "";
    Post(upstream, R"({"jsonrpc":"2.0","method":"notifications/initialized"})", token, session);
    return session;
  }
  // tools/call; the raw answer (body) and the parsed response.
  json::value Call(const std::string& upstream, const std::string& token,
                   const std::string& session, const std::string& tool,
                   std::string* raw = nullptr) {
    static int id = 10;
    HttpResult r =
        Post(upstream,
             R"({"jsonrpc":"2.0","id":)" + std::to_string(++id) +
                 R"(,"method":"tools/call","params":{"name":")" + tool + R"(","arguments":{}}})",
             token, session);
    if (raw != nullptr) *raw = r.body;
    return RpcAnswer(r.body);
  }
  static std::string Text(const json::value& answer) { return json::serialize(answer); }
  // With the provider in `mode`, write_repo on `upstream` in `session` is refused
  // (CREDENTIAL_UNAVAILABLE), the answer naming `why` when `why` is not empty.
  void ExpectRefused(const std::string& upstream, const std::string& session,
                     const std::string& mode, const std::string& why) {
    Mode(mode);
    const json::value a = Call(upstream, deploy_jwt_, session, "write_repo");
    EXPECT_NE(Text(a).find("CREDENTIAL_UNAVAILABLE"), std::string::npos) << mode << ": " << a;
    if (!why.empty()) {
      EXPECT_NE(Text(a).find(why), std::string::npos) << mode << ": " << a;
    }
  }

  static constexpr char kSecret[] = "idp-client-secret-for-interlock";
  static inline std::string setup_error_;
  TempDir dir_;
  TestCa ca_;
  std::unique_ptr<ServiceChild> idp_;
  std::unique_ptr<ServiceChild> github_;
  std::unique_ptr<ServiceChild> tickets_;
  std::string assertion_key_;
  int github_port_ = 0;
  int tickets_port_ = 0;
  std::string issuer_;
  std::string policies_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<HttpClient> client_;
  std::string deploy_jwt_;
  std::string review_jwt_;
};

// Tests that each tool's call carries exactly the scopes its policy names (the upstream's
// default otherwise), for the human the agent acts for, with the agent as the actor.
TEST_F(CredentialTest, EachToolGetsExactlyItsScopesOnBehalfOfTheHuman) {
  const std::string s = Open("github", deploy_jwt_);
  ASSERT_FALSE(s.empty()) << daemon_->log();
  const json::value who = Call("github", deploy_jwt_, s, "whoami");
  EXPECT_NE(Text(who).find(R"(\"sub\":\"alice\")"), std::string::npos) << who;
  EXPECT_NE(Text(who).find(R"(\"act\":{\"sub\":\"deploy@example.iam\"})"), std::string::npos)
      << who;
  EXPECT_NE(Text(Call("github", deploy_jwt_, s, "write_repo")).find("write ok"), std::string::npos);
  EXPECT_NE(Text(Call("github", deploy_jwt_, s, "read_repo")).find("read ok"), std::string::npos);

  const auto writes = SeenCalls(github_port_, "write_repo");
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(Str(writes[0], "scope"), "repo:write");  // not repo:read as well
  EXPECT_EQ(Str(writes[0], "sub"), "alice");
  EXPECT_EQ(Str(writes[0], "aud"), kGithubAudience);
  EXPECT_EQ(Str(writes[0], "client_id"), "interlock");
  for (const char* tool : {"read_repo", "whoami"}) {
    const auto calls = SeenCalls(github_port_, tool);
    ASSERT_EQ(calls.size(), 1u) << tool;
    EXPECT_EQ(Str(calls[0], "scope"), "repo:read") << tool;
  }
  // Every request the upstream received carried a token it verified (initialize too).
  for (const json::value& e : Seen(github_port_)) EXPECT_TRUE(e.at("ok").as_bool()) << e;
}

// Tests that a credential is exchanged once per (subject, audience, scopes) and reused.
TEST_F(CredentialTest, CredentialsAreCachedPerSubjectAudienceAndScopes) {
  const std::string s = Open("github", deploy_jwt_);
  ASSERT_FALSE(s.empty()) << daemon_->log();
  for (int i = 0; i < 3; ++i) Call("github", deploy_jwt_, s, "read_repo");
  EXPECT_EQ(Grants("token_exchange"), 1);  // initialize, tools/list and reads: repo:read
  for (int i = 0; i < 3; ++i) Call("github", deploy_jwt_, s, "write_repo");
  EXPECT_EQ(Grants("token_exchange"), 2);  // one more, for repo:write
  const auto reads = SeenCalls(github_port_, "read_repo");
  ASSERT_EQ(reads.size(), 3u);
  EXPECT_EQ(Str(reads[0], "jti"), Str(reads[2], "jti"));
}

// Tests that a cached credential is renewed at the provider once it is within
// renew_before_seconds of its expiry, and the upstream then sees the new one.
TEST_F(CredentialTest, CredentialIsRenewedBeforeItExpires) {
  const std::string s = Open("github-renew", deploy_jwt_);
  ASSERT_FALSE(s.empty()) << daemon_->log();
  const int before = Grants("token_exchange");
  Call("github-renew", deploy_jwt_, s, "read_repo");
  EXPECT_EQ(Grants("token_exchange"), before);           // initialize's credential, still fresh
  std::this_thread::sleep_for(std::chrono::seconds(5));  // pace: past its renewal time (300 - 296)
  Call("github-renew", deploy_jwt_, s, "read_repo");
  EXPECT_EQ(Grants("token_exchange"), before + 1);
  const auto reads = SeenCalls(github_port_, "read_repo");
  ASSERT_EQ(reads.size(), 2u);
  EXPECT_FALSE(Str(reads[0], "jti").empty());
  EXPECT_NE(Str(reads[0], "jti"), Str(reads[1], "jti"));
}

// Tests that an identity provider refusing the exchange denies the call and nothing is sent.
TEST_F(CredentialTest, IdpRefusalDeniesAndForwardsNothing) {
  const std::string s = Open("github", deploy_jwt_);
  ASSERT_FALSE(s.empty()) << daemon_->log();
  ExpectRefused("github", s, "refuse", "invalid_grant");
  EXPECT_TRUE(SeenCalls(github_port_, "write_repo").empty());
}

// Tests that an identity provider that does not answer in time denies the call, bounded.
TEST_F(CredentialTest, IdpTimeoutDeniesAndForwardsNothing) {
  const std::string s = Open("github-short", deploy_jwt_);
  ASSERT_FALSE(s.empty()) << daemon_->log();
  Mode("slow");
  const auto started = std::chrono::steady_clock::now();
  const json::value a = Call("github-short", deploy_jwt_, s, "write_repo");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(15));
  EXPECT_NE(Text(a).find("CREDENTIAL_UNAVAILABLE"), std::string::npos) << a;
  EXPECT_NE(Text(a).find("timed out"), std::string::npos) << a;
  EXPECT_TRUE(SeenCalls(github_port_, "write_repo").empty());
}

// Tests that an identity provider that is down denies the call and nothing is sent.
TEST_F(CredentialTest, IdpDownDeniesAndForwardsNothing) {
  const std::string s = Open("github", deploy_jwt_);
  ASSERT_FALSE(s.empty()) << daemon_->log();
  idp_.reset();  // killed: its port refuses connections
  const json::value a = Call("github", deploy_jwt_, s, "write_repo");
  EXPECT_NE(Text(a).find("CREDENTIAL_UNAVAILABLE"), std::string::npos) << a << daemon_->log();
  EXPECT_TRUE(SeenCalls(github_port_, "write_repo").empty());
}

// Tests that a credential broader than asked for (a scope the tool does not name) is refused.
TEST_F(CredentialTest, BroaderScopeThanAskedIsRefused) {
  const std::string s = Open("github", deploy_jwt_);
  ASSERT_FALSE(s.empty()) << daemon_->log();
  ExpectRefused("github", s, "broad", "not asked for");
  EXPECT_TRUE(SeenCalls(github_port_, "write_repo").empty());
}

// Tests that a token the provider issued for another audience is never sent upstream.
TEST_F(CredentialTest, IssuedTokenForAnotherAudienceIsRefused) {
  const std::string s = Open("github", deploy_jwt_);
  ASSERT_FALSE(s.empty()) << daemon_->log();
  ExpectRefused("github", s, "wrong-aud", "another audience");
  EXPECT_TRUE(SeenCalls(github_port_, "write_repo").empty());
}

// Tests that a grant broader than asked, written as a `scope` array or in an `scp` claim
// (Okta, Entra, Auth0) while the answer's `scope` says only what was asked, is refused.
TEST_F(CredentialTest, BroaderGrantWrittenAsScopeArrayOrScpIsRefused) {
  const std::string s = Open("github", deploy_jwt_);
  ASSERT_FALSE(s.empty()) << daemon_->log();
  for (const char* mode : {"scope-array", "scp"}) ExpectRefused("github", s, mode, "not asked for");
  EXPECT_TRUE(SeenCalls(github_port_, "write_repo").empty());
}

// Tests that a token whose aud names the upstream and another resource besides (good at
// both) is refused, for token exchange and client credentials alike.
TEST_F(CredentialTest, TokenAlsoNamingAnotherUpstreamIsRefused) {
  for (const char* upstream : {"github", "tickets"}) {
    Mode("ok");  // the session's own credential (repo:read) is sound
    const std::string s = Open(upstream, deploy_jwt_);
    ASSERT_FALSE(s.empty()) << daemon_->log();
    ExpectRefused(upstream, s, "extra-aud", "an audience besides the upstream's");
  }
  EXPECT_TRUE(SeenCalls(github_port_, "write_repo").empty());
  EXPECT_TRUE(SeenCalls(tickets_port_, "write_repo").empty());
}

// Tests that a JWT whose claims the strict parser refuses (over 16 KiB; `scope` twice, the
// second broader) is refused, not described as an opaque token with nothing checked.
TEST_F(CredentialTest, UnreadableJwtGrantIsRefusedNotTreatedAsOpaque) {
  const std::string s = Open("github", deploy_jwt_);
  ASSERT_FALSE(s.empty()) << daemon_->log();
  for (const char* mode : {"oversized", "duplicate-key"})
    ExpectRefused("github", s, mode, "the issued token's claims");
  EXPECT_TRUE(SeenCalls(github_port_, "write_repo").empty());
}

// Tests that a token that expired an hour ago, its exp written as a float or as a string
// (the answer's expires_in saying 300 s), is neither forwarded nor cached.
TEST_F(CredentialTest, TokenExpiredAnHourAgoWithFloatOrStringExpIsRefused) {
  const std::string s = Open("github", deploy_jwt_);
  ASSERT_FALSE(s.empty()) << daemon_->log();
  for (const char* mode : {"expired-float", "expired-string"}) ExpectRefused("github", s, mode, "");
  EXPECT_TRUE(SeenCalls(github_port_, "write_repo").empty());
  // Nothing was cached: a sound grant afterwards is fetched and forwarded.
  Mode("ok");
  const int64_t before = Grants("token_exchange");
  const json::value ok = Call("github", deploy_jwt_, s, "write_repo");
  EXPECT_EQ(Text(ok).find("CREDENTIAL_UNAVAILABLE"), std::string::npos) << ok;
  EXPECT_EQ(Grants("token_exchange"), before + 1);
  EXPECT_EQ(SeenCalls(github_port_, "write_repo").size(), 1u);
}

// Tests that a provider's refusal quoting the client secret reaches the agent masked, for
// the daemon's client and an agent's own client alike.
TEST_F(CredentialTest, ProviderErrorQuotingTheClientSecretShowsTheAgentNothing) {
  for (const char* upstream : {"github", "tickets"}) {
    Mode("ok");
    const std::string s = Open(upstream, deploy_jwt_);
    ASSERT_FALSE(s.empty()) << daemon_->log();
    Mode("quote-secret");
    std::string raw;
    const json::value a = Call(upstream, deploy_jwt_, s, "write_repo", &raw);
    EXPECT_NE(Text(a).find("CREDENTIAL_UNAVAILABLE"), std::string::npos) << a;
    EXPECT_NE(Text(a).find("[secret]"), std::string::npos) << a;
    EXPECT_EQ(raw.find(kSecret), std::string::npos) << raw;
    EXPECT_EQ(raw.find("deploy-secret-value-1"), std::string::npos) << raw;
  }
}

// Tests that an exchanged token (audience: the upstream) presented to the daemon is refused.
TEST_F(CredentialTest, ExchangedTokenPresentedBackToTheDaemonIsRefused) {
  const json::value ex =
      Idp("/token",
          "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=" +
              deploy_jwt_ +
              "&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt&audience=" +
              "http%3A%2F%2F127.0.0.1%2Fgithub&scope=repo%3Awrite",
          std::string("interlock:") + kSecret, "application/x-www-form-urlencoded");
  const std::string stolen = Str(ex, "access_token");
  ASSERT_FALSE(stolen.empty()) << ex;
  HttpResult r = Post("github",
                      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{)"
                      R"("protocolVersion":"2025-06-18","capabilities":{},)"
                      R"("clientInfo":{"name":"raw","version":"1"}}})",
                      stolen);
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_NE(r.body.find("JWT_WRONG_AUDIENCE"), std::string::npos) << r.body;
  HttpResult api = client_->Request("GET", "/v1/runs", "", stolen);
  EXPECT_EQ(api.status, 401) << api.body;
}

// Tests that two agents calling one upstream act there as two identities (their own
// client credentials), so the server can tell them apart and revoke one.
TEST_F(CredentialTest, TwoAgentsActAsTwoIdentitiesUpstream) {
  const std::string a = Open("tickets", deploy_jwt_);
  const std::string b = Open("tickets", review_jwt_);
  ASSERT_FALSE(a.empty()) << daemon_->log();
  ASSERT_FALSE(b.empty()) << daemon_->log();
  Call("tickets", deploy_jwt_, a, "whoami");
  Call("tickets", review_jwt_, b, "whoami");
  const auto calls = SeenCalls(tickets_port_, "whoami");
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(Str(calls[0], "sub"), "deploy-client");
  EXPECT_EQ(Str(calls[1], "sub"), "review-client");
  EXPECT_EQ(Str(calls[0], "aud"), kTicketsAudience);
  EXPECT_EQ(Grants("client_credentials"), 2);
}

// Tests that a client configured with client_assertion authenticates to the identity
// provider with a signed JWT (private_key_jwt, no secret anywhere) and acts upstream as
// itself.
TEST_F(CredentialTest, ClientAssertionSignedWithTheDaemonsKeyGetsTheCredential) {
  const std::string s = Open("signed", deploy_jwt_);
  ASSERT_FALSE(s.empty()) << daemon_->log();
  const json::value answer = Call("signed", deploy_jwt_, s, "whoami");
  const auto calls = SeenCalls(tickets_port_, "whoami");
  ASSERT_EQ(calls.size(), 1u) << answer << daemon_->log();
  EXPECT_EQ(Str(calls[0], "sub"), "signed-client");
  EXPECT_EQ(Str(calls[0], "aud"), kTicketsAudience);
}

// Tests that an Interlock (non-JWT) token cannot use a token-exchange upstream: there is
// nothing to exchange, so nothing is sent without a credential.
TEST_F(CredentialTest, InterlockTokenCallerGetsNoExchangedCredential) {
  const std::string token = CreateToken(daemon_->store(), "--agent", "deploy-agent");
  HttpResult answer;
  EXPECT_EQ(Open("github", token, &answer), "");
  EXPECT_NE(answer.body.find("CREDENTIAL_UNAVAILABLE"), std::string::npos) << answer.body;
  EXPECT_NE(answer.body.find("presented none"), std::string::npos) << answer.body;
  EXPECT_TRUE(Seen(github_port_).empty());
}

// Tests that a server echoing its credential (result and notification) shows the agent
// nothing, and that no credential reaches the daemon's log or its store.
TEST_F(CredentialTest, AgentNeverSeesTheCredential) {
  const std::string s = Open("github", deploy_jwt_);
  ASSERT_FALSE(s.empty()) << daemon_->log();
  std::string raw;
  const json::value a = Call("github", deploy_jwt_, s, "leak", &raw);
  EXPECT_NE(raw.find("Authorization: Bearer"), std::string::npos) << raw;
  EXPECT_NE(raw.find("my credential: Bearer"), std::string::npos) << raw;  // the notification
  EXPECT_EQ(raw.find("Bearer eyJ"), std::string::npos) << raw;
  // The tokens the upstream saw, by their jti: neither their signature nor their payload
  // appear anywhere the agent or an operator's copy of the store can read.
  Call("github", deploy_jwt_, s, "write_repo");
  ASSERT_EQ(daemon_->Stop(), 0);
  const std::string log = daemon_->log();
  std::string store = ReadAll(daemon_->store());
  store += ReadAll(daemon_->store() + "-wal");
  EXPECT_EQ(log.find("eyJhbGciOiJSUzI1NiIsImtpZCI6"), std::string::npos) << log;
  EXPECT_EQ(store.find("eyJhbGciOiJSUzI1NiIsImtpZCI6"), std::string::npos);
  EXPECT_EQ(store.find(kSecret), std::string::npos);
  EXPECT_EQ(log.find(kSecret), std::string::npos);
}

// Tests that a server echoing its credential in its error answers (a JSON-RPC error's
// message and data, an HTTP error's body) shows the agent none of it.
TEST_F(CredentialTest, UpstreamErrorEchoingTheCredentialShowsTheAgentNothing) {
  const std::string s = Open("github", deploy_jwt_);
  ASSERT_FALSE(s.empty()) << daemon_->log();
  for (const char* tool : {"leak-error", "leak-http-error"}) {
    std::string raw;
    Call("github", deploy_jwt_, s, tool, &raw);
    EXPECT_FALSE(raw.empty()) << tool;
    EXPECT_EQ(raw.find("Bearer eyJ"), std::string::npos) << tool << ": " << raw;
    EXPECT_EQ(raw.find("eyJhbGciOiJSUzI1NiIsImtpZCI6"), std::string::npos) << tool << ": " << raw;
  }
  // The first really reached the upstream with a credential (the refusal is not Interlock's).
  const std::vector<json::object> seen = SeenCalls(github_port_, "leak-error");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0].at("ok").as_bool());
  ASSERT_EQ(daemon_->Stop(), 0);
  EXPECT_EQ(daemon_->log().find("eyJhbGciOiJSUzI1NiIsImtpZCI6"), std::string::npos)
      << daemon_->log();
  const std::string store = ReadAll(daemon_->store()) + ReadAll(daemon_->store() + "-wal");
  EXPECT_EQ(store.find("eyJhbGciOiJSUzI1NiIsImtpZCI6"), std::string::npos);
}

// Tests that each forwarded call's result record names the credential that acted (kind,
// issuer, audience, scopes, subject, fingerprint), never the token.
TEST_F(CredentialTest, AuditRecordNamesTheCredentialThatActed) {
  const std::string s = Open("github", deploy_jwt_);
  ASSERT_FALSE(s.empty()) << daemon_->log();
  Call("github", deploy_jwt_, s, "write_repo");
  const auto writes = SeenCalls(github_port_, "write_repo");
  ASSERT_EQ(writes.size(), 1u);
  std::vector<json::object> creds;
  std::string run_id;
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(daemon_->store().c_str(), &db, SQLITE_OPEN_READONLY, nullptr),
            SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT body, run_id FROM audit_log WHERE body LIKE '%\"credential\"%'",
                     -1, &st, nullptr);
  while (st && sqlite3_step(st) == SQLITE_ROW) {
    run_id = reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
    json::value v = json::parse(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
    const json::object& top = v.as_object();
    const json::object& data = top.contains("data") ? top.at("data").as_object() : top;
    const json::value* result = data.if_contains("result");
    const json::object& r = result && result->is_object() ? result->as_object() : data;
    if (const json::value* c = r.if_contains("credential")) creds.push_back(c->as_object());
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  ASSERT_EQ(creds.size(), 1u);
  const json::object& c = creds[0];
  EXPECT_EQ(Str(c, "kind"), "token_exchange");
  EXPECT_EQ(Str(c, "issuer"), issuer_);
  EXPECT_EQ(Str(c, "audience"), kGithubAudience);
  EXPECT_EQ(json::serialize(c.at("scopes")), R"(["repo:write"])");
  EXPECT_EQ(Str(c, "subject"), "alice");
  EXPECT_EQ(Str(c, "actor"), "deploy@example.iam");
  EXPECT_EQ(Str(c, "fingerprint"), "jti:" + Str(writes[0], "jti"));

  int code = 0;
  const std::string replay = RunInterlock({"replay", run_id, "--store", daemon_->store()}, &code);
  EXPECT_NE(replay.find("credential token_exchange"), std::string::npos) << replay;

  // The console's run page renders the HTTP replay's calls[].credential (console.js).
  const std::string reviewer = CreateToken(daemon_->store(), "--reviewer", "rita");
  ASSERT_FALSE(reviewer.empty());
  HttpResult page = client_->Request("GET", "/v1/runs/" + run_id + "/replay", "", reviewer);
  ASSERT_EQ(page.status, 200) << page.body;
  int shown = 0;
  for (const json::value& call : page.json.at("calls").as_array()) {
    const json::value* k = call.as_object().if_contains("credential");
    if (k == nullptr) continue;
    ++shown;
    EXPECT_EQ(Str(*k, "kind"), "token_exchange");
    EXPECT_EQ(Str(*k, "fingerprint"), "jti:" + Str(writes[0], "jti"));
  }
  EXPECT_EQ(shown, 1) << page.body;
  EXPECT_EQ(page.body.find("eyJhbGciOiJSUzI1NiIsImtpZCI6"), std::string::npos);
}

// Tests that a command: server gets its credential in its environment at start, that the
// agent reading that environment sees it masked, and that its calls record which acted.
TEST_F(CredentialTest, StdioServerGetsItsCredentialAtStartMasked) {
  const std::string s = Open("everything", deploy_jwt_);
  ASSERT_FALSE(s.empty()) << daemon_->log();
  std::string raw;
  Call("everything", deploy_jwt_, s, "get-env", &raw);
  EXPECT_NE(raw.find("EVERYTHING_TOKEN"), std::string::npos) << raw;
  EXPECT_NE(raw.find("[REDACTED]"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("eyJhbGciOiJSUzI1NiIsImtpZCI6"), std::string::npos) << raw;
  EXPECT_EQ(Grants("client_credentials"), 1);
  ASSERT_EQ(daemon_->Stop(), 0);
  const std::string store = ReadAll(daemon_->store()) + ReadAll(daemon_->store() + "-wal");
  EXPECT_NE(store.find("\"kind\":\"client_credentials\""), std::string::npos);
  EXPECT_NE(store.find("\"subject\":\"deploy-client\""), std::string::npos);
}

// Tests that a command: server's session ends before its credential expires (the server
// cannot be handed a new one), and that the next session starts with a fresh credential.
TEST_F(CredentialTest, StdioSessionEndsBeforeItsCredentialExpires) {
  const std::string s = Open("renewing", deploy_jwt_);
  ASSERT_FALSE(s.empty()) << daemon_->log();
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // pace: near its expiry
  HttpResult r = Post("renewing",
                      R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"get-env",)"
                      R"("arguments":{}}})",
                      deploy_jwt_, s);
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_FALSE(Open("renewing", deploy_jwt_).empty()) << daemon_->log();
  EXPECT_EQ(Grants("client_credentials"), 2);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
