// MCP clients authorizing with OAuth 2.1 at the daemon's /mcp/{upstream} (identity.oauth,
// docs/identity.md#mcp-clients-with-oauth-21), and issuer binding (identity.jwt[].identities).
//
// McpOAuthSdk: the official MCP TypeScript SDK client (its OAuthClientProvider;
// tests/integration/mcp/node/sdk_oauth_client.mjs) against a real OpenID provider
// (tests/idp/idp.mjs, npm oidc-provider) over https with a test CA generated here, the
// daemon proxying a real MCP server from npm (server-everything). All on 127.0.0.1.
// McpOAuth: crafted tokens from an in-process issuer for each refusal, and an in-process
// HTTP MCP upstream that records what it is sent.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "daemon/metrics.h"
#include "daemon_harness.h"
#include "daemon_policies.h"
#include "doors/http_api/http_server.h"
#include "issuer_suite.h"
#include "json_lines.h"
#include "mcp_headers.h"
#include "sqlite_query.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "test_idp.h"
#include "test_paths.h"
#include "tls_server.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;
namespace http = boost::beast::http;
namespace fs = std::filesystem;

using testing::kModules;
using testing::kNodeDir;

constexpr char kHeadersPolicy[] = R"(agent:
  id: "hx"
  identity: "hx@example.iam"
  autonomy: audit_based
tools:
  allowed:
    - name: "echo"
)";

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The decision records' (principal, body) in the store.
std::vector<std::pair<std::string, std::string>> DecisionRecords(const std::string& store) {
  return SqliteTextPairs(store,
                         "SELECT principal, body FROM audit_log WHERE call_id != '' AND body LIKE "
                         "'%\"decision\"%' ORDER BY seq");
}

// The `identity` members of the decision records.
std::vector<json::object> RecordedIdentities(const std::string& store) {
  std::vector<json::object> out;
  for (const auto& [principal, body] : DecisionRecords(store)) {
    json::value v = json::parse(body);
    const json::object& top = v.as_object();
    const json::object& data = top.contains("data") ? top.at("data").as_object() : top;
    if (const json::value* id = data.if_contains("identity")) out.push_back(id->as_object());
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// The real thing: the MCP SDK client, oidc-provider, server-everything.

class McpOAuthSdk : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setup_error_ =
        RunSetupScriptOnce(std::string(INTERLOCK_SOURCE_DIR) + "/scripts/setup-node-tests.sh");
    if (setup_error_.empty()) {
      setup_error_ =
          RunSetupScriptOnce(std::string(INTERLOCK_SOURCE_DIR) + "/scripts/setup-idp.sh");
    }
  }

  // Starts the provider (access tokens valid `ttl` seconds) and the daemon.
  void Start(int ttl) {
    ASSERT_EQ(setup_error_, "");
    ca_ = MakeTestCa(dir_.path());
    ASSERT_EQ(ca_.error, "");
    idp_ = std::make_unique<ServiceChild>(std::vector<std::string>{
        "node", std::string(INTERLOCK_SOURCE_DIR) + "/tests/idp/idp.mjs", "--cert", ca_.cert,
        "--key", ca_.key, "--auto-login", "alice", "--access-token-ttl", std::to_string(ttl)});
    const std::string line = idp_->FirstLine(std::chrono::seconds(30));
    json::value hello = json::parse(line.empty() ? "null" : line);
    issuer_ = Str(hello, "issuer");
    ASSERT_FALSE(issuer_.empty()) << "the provider did not start: " << line;

    policies_ = dir_.path() + "/policies";
    fs::create_directories(policies_);
    std::ofstream(policies_ + "/ev.yaml") << kEvAgent;
    const std::string config = dir_.Write("interlock.yaml",
                                          "durability: normal\n"
                                          "identity:\n"
                                          "  jwt:\n"
                                          "    - issuer: \"" +
                                              issuer_ +
                                              "\"\n"
                                              "      audience: \"interlock\"\n"
                                              "      ca_file: \"" +
                                              ca_.ca +
                                              "\"\n"
                                              "      skew_seconds: 0\n"
                                              "  oauth:\n"
                                              "    authorization_servers: [\"" +
                                              issuer_ +
                                              "\"]\n"
                                              "    scopes_supported: [\"mcp\"]\n"
                                              "    agents: {everything: ev}\n"
                                              "mcp:\n"
                                              "  upstreams:\n"
                                              "    everything:\n"
                                              "      command: [\"node\", \"" +
                                              kModules +
                                              "/server-everything/dist/index.js\", \"stdio\"]\n"
                                              "    memory:\n"
                                              "      command: [\"node\", \"" +
                                              kModules + "/server-memory/dist/index.js\"]\n");
    daemon_ = std::make_unique<Daemon>(dir_.path(), policies_, config);
    ASSERT_TRUE(daemon_->Start()) << daemon_->log();
  }

  void TearDown() override {
    if (daemon_ && daemon_->Running()) {
      EXPECT_EQ(daemon_->Stop(), 0) << daemon_->log();
    }
  }

  std::string Base() const { return "http://127.0.0.1:" + std::to_string(daemon_->port()); }

  // Runs the SDK client through `steps`; its JSON answer.
  json::value RunClient(const std::string& steps) {
    const std::string file = dir_.Write("steps.json", steps);
    ProcessResult r =
        RunProcess({"/usr/bin/env", "NODE_EXTRA_CA_CERTS=" + ca_.ca, "node",
                    kNodeDir + "/sdk_oauth_client.mjs", Base() + "/mcp/everything", file},
                   "", std::chrono::seconds(120));
    EXPECT_EQ(r.exit_code, 0) << r.err << "\n" << daemon_->log();
    if (r.exit_code != 0) return nullptr;
    return json::parse(r.out);
  }

  static inline std::string setup_error_;
  TempDir dir_;
  TestCa ca_;
  std::unique_ptr<ServiceChild> idp_;
  std::string issuer_;
  std::string policies_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(McpOAuthSdk, FullFlowListsAndCallsToolsAndTheUpstreamNeverSeesTheToken) {
  ASSERT_NO_FATAL_FAILURE(Start(600));  // a failed start ends the test, not the process
  const std::string steps = R"([{"call":"echo","arguments":{"message":"through oauth"}},)"
                            R"({"call":"get-env"},)"
                            R"({"probe":")" +
                            Base() + R"(/mcp/memory"},{"probe":")" + Base() + R"(/v1/runs"}])";
  json::value out = RunClient(steps);
  ASSERT_TRUE(out.is_object());
  const json::object& o = out.as_object();
  EXPECT_EQ(json::serialize(o.at("tools")), R"(["echo","get-env","get-sum"])");
  EXPECT_EQ(o.at("authorizations").as_int64(), 1);
  // RFC 8707: the resource indicator the client sent is the endpoint's canonical URL.
  EXPECT_EQ(Str(out, "resource"), Base() + "/mcp/everything");
  const json::array& results = o.at("results").as_array();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_NE(json::serialize(results[0]).find("Echo: through oauth"), std::string::npos)
      << results[0];
  // The upstream's whole environment: no trace of the client's token.
  const std::string token = Str(out, "token");
  ASSERT_GT(token.size(), 40u);
  const std::string env = json::serialize(results[1]);
  EXPECT_NE(env.find("PATH"), std::string::npos) << env;
  EXPECT_EQ(env.find(token.substr(0, 40)), std::string::npos);
  EXPECT_EQ(env.find(token.substr(token.size() - 40)), std::string::npos);

  // The token is for /mcp/everything: refused at another upstream and at /v1.
  const json::array& probes = o.at("probes").as_array();
  ASSERT_EQ(probes.size(), 2u);
  EXPECT_EQ(probes[0].at("status").as_int64(), 401) << probes[0];
  EXPECT_NE(Str(probes[0], "www").find("error=\"invalid_token\""), std::string::npos) << probes[0];
  EXPECT_NE(Str(probes[0], "www").find("/.well-known/oauth-protected-resource/mcp/memory"),
            std::string::npos)
      << probes[0];
  EXPECT_NE(Str(probes[0], "body").find("JWT_WRONG_AUDIENCE"), std::string::npos) << probes[0];
  EXPECT_EQ(probes[1].at("status").as_int64(), 401) << probes[1];
  EXPECT_NE(Str(probes[1], "body").find("JWT_WRONG_AUDIENCE"), std::string::npos) << probes[1];

  // The decisions carry who authorized: the provider, the client, the human.
  auto ids = RecordedIdentities(daemon_->store());
  ASSERT_FALSE(ids.empty());
  for (const json::object& id : ids) {
    EXPECT_EQ(Str(id, "issuer"), issuer_);
    EXPECT_EQ(Str(id, "on_behalf_of"), "alice");
    EXPECT_FALSE(Str(id, "subject").empty());  // the dynamically registered client_id
  }
}

TEST_F(McpOAuthSdk, ExpiredTokenIsRefusedAndTheClientReauthorizes) {
  // Long enough that a fresh token reaches the daemon on a loaded machine, short enough
  // that the test waits it out.
  ASSERT_NO_FATAL_FAILURE(Start(8));
  json::value out = RunClient(R"([{"call":"echo","arguments":{"message":"one"}},)"
                              R"({"sleep_ms":9000},)"
                              R"({"call":"echo","arguments":{"message":"two"}}])");
  ASSERT_TRUE(out.is_object());
  const json::object& o = out.as_object();
  // The second call met a 401 (JWT_EXPIRED), so the client authorized again.
  EXPECT_EQ(o.at("authorizations").as_int64(), 2);
  const json::array& results = o.at("results").as_array();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_NE(json::serialize(results[0]).find("Echo: one"), std::string::npos) << results[0];
  EXPECT_NE(json::serialize(results[1]).find("Echo: two"), std::string::npos) << results[1];
}

// ---------------------------------------------------------------------------------------
// Crafted tokens: each refusal, against an in-process issuer.

// A minimal MCP server over Streamable HTTP that records the headers it is sent.
class RecordingUpstream final : public server::RequestHandler {
 public:
  void Handle(server::HttpRequest req, server::Responder r) override {
    {
      std::lock_guard lock(mu);
      std::string all;
      for (const auto& f : req) {
        all += std::string(f.name_string()) + ": " + std::string(f.value()) + "\n";
      }
      seen.push_back(all);
    }
    server::HttpResponse res(http::status::ok, req.version());
    res.set(http::field::content_type, "application/json");
    if (req.method() != http::verb::post) {
      res.result(http::status::method_not_allowed);
      res.prepare_payload();
      return r.Send(std::move(res));
    }
    json::value msg = json::parse(req.body());
    const json::object& m = msg.as_object();
    if (!m.contains("id")) {
      res.result(http::status::accepted);
      res.prepare_payload();
      return r.Send(std::move(res));
    }
    const std::string method = Str(msg, "method");
    json::object result;
    if (method == "initialize") {
      result = {{"protocolVersion", m.at("params").at("protocolVersion")},
                {"capabilities", json::object{{"tools", json::object{}}}},
                {"serverInfo", json::object{{"name", "recorder"}, {"version", "1"}}}};
    } else if (method == "tools/list") {
      result = {
          {"tools", json::array{json::object{{"name", "echo"},
                                             {"inputSchema", json::object{{"type", "object"}}}}}}};
    } else if (method == "tools/call") {
      result = {{"content", json::array{json::object{{"type", "text"}, {"text", "ok"}}}}};
    }
    res.body() = json::serialize(
        json::object{{"jsonrpc", "2.0"}, {"id", m.at("id")}, {"result", std::move(result)}});
    res.prepare_payload();
    r.Send(std::move(res));
  }
  std::string All() {
    std::lock_guard lock(mu);
    std::string out;
    for (const auto& s : seen) out += s + "--\n";
    return out;
  }
  std::mutex mu;
  std::vector<std::string> seen;
};

class McpOAuth : public IssuerSuite<JwksIssuer> {
 protected:
  McpOAuth() : IssuerSuite("as-1") {}
  void SetUp() override {
    StartIssuer();
    server::HttpServerOptions u;
    u.port = 0;
    u.threads = 1;
    upstream_server_ = std::make_unique<server::HttpServer>(u, &upstream_, &metrics_);
    ASSERT_TRUE(upstream_server_->Start().ok());
    std::ofstream(policies_ + "/hx.yaml") << kHeadersPolicy;
    std::ofstream(policies_ + "/ev.yaml") << kEvAgent;
    const std::string config = dir_.Write(
        "interlock.yaml",
        "durability: normal\n"
        "identity:\n"
        "  jwt:\n"
        "    - issuer: \"" +
            issuer_ + "\"\n      audience: \"interlock\"\n      ca_file: \"" + cert_.cert + "\"\n" +
            (WithOAuth() ? "  oauth:\n"
                           "    authorization_servers: [\"" +
                               issuer_ +
                               "\"]\n"
                               "    agents: {recorder: hx}\n"
                         : std::string()) +
            "mcp:\n"
            "  upstreams:\n"
            "    recorder:\n"
            "      url: \"http://127.0.0.1:" +
            std::to_string(upstream_server_->local_endpoint().port()) +
            "/mcp\"\n"
            "      headers: {Authorization: \"Bearer interlocks-own-upstream-credential\"}\n"
            "    other:\n"
            "      url: \"http://127.0.0.1:" +
            std::to_string(upstream_server_->local_endpoint().port()) + "/mcp\"\n");
    MakeDaemon(config);
    hx_token_ = CreateToken(daemon_->store(), "--agent", "hx");
    StartAndConnect();
  }
  void TearDown() override {
    IssuerSuite::TearDown();
    if (upstream_server_) upstream_server_->Shutdown();
  }

  virtual bool WithOAuth() const { return true; }
  std::string Base() const { return "http://127.0.0.1:" + std::to_string(daemon_->port()); }
  std::string Resource(const std::string& upstream) const { return Base() + "/mcp/" + upstream; }

  // An access token as an authorization server mints it (RFC 9068).
  std::string AccessToken(const std::string& aud, const std::string& sub = "alice",
                          const json::object& extra = {}) {
    return AccessToken(json::value(json::string(aud)), sub, extra);
  }
  std::string AccessToken(const json::value& aud, const std::string& sub = "alice",
                          const json::object& extra = {}) {
    json::object claims{{"iss", issuer_},     {"aud", aud},      {"sub", sub},
                        {"client_id", "c-1"}, {"scope", "mcp"},  {"iat", Now()},
                        {"exp", Now() + 300}, {"jti", "t" + sub}};
    for (const auto& kv : extra) claims[kv.key()] = kv.value();
    return SignJwt(key_, {{"alg", key_.alg}, {"kid", key_.kid}, {"typ", "at+jwt"}}, claims);
  }

  static std::string Initialize() {
    return R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}})";
  }
  HttpResult Post(const std::string& upstream, const std::string& body, const std::string& token,
                  const std::string& session = "") {
    return client_->Request("POST", "/mcp/" + upstream, body, token, std::chrono::seconds(20),
                            McpHeaders(session));
  }

  RecordingUpstream upstream_;
  std::unique_ptr<server::HttpServer> upstream_server_;
  std::string hx_token_;
};

TEST_F(McpOAuth, MetadataNamesTheResourceAndItsAuthorizationServers) {
  HttpResult r = client_->Request("GET", "/.well-known/oauth-protected-resource/mcp/recorder");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Str(r.json, "resource"), Resource("recorder"));
  EXPECT_EQ(json::serialize(r.json.at("authorization_servers")), "[\"" + issuer_ + "\"]");
  EXPECT_EQ(json::serialize(r.json.at("bearer_methods_supported")), R"(["header"])");
  EXPECT_EQ(client_->Request("GET", "/.well-known/oauth-protected-resource/mcp/nosuch").status,
            404);
  // The root document would have to name one resource of several: there is none.
  EXPECT_EQ(client_->Request("GET", "/.well-known/oauth-protected-resource").status, 404);
  EXPECT_EQ(
      client_->Request("POST", "/.well-known/oauth-protected-resource/mcp/recorder", "{}").status,
      405);
}

TEST_F(McpOAuth, HostHeaderDoesNotNameTheResource) {
  // A forged Host cannot move the resource (and so the audience) elsewhere.
  HttpResult r = client_->Request("GET", "/.well-known/oauth-protected-resource/mcp/recorder", "",
                                  "", std::chrono::seconds(10), {{"Host", "evil.example"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Str(r.json, "resource"), Resource("recorder"));
}

TEST_F(McpOAuth, MissingTokenIsChallengedWithResourceMetadata) {
  HttpResult r = Post("recorder", Initialize(), "");
  EXPECT_EQ(r.status, 401) << r.body;
  const std::string www = r.headers["www-authenticate"];
  EXPECT_EQ(www, "Bearer resource_metadata=\"" + Base() +
                     "/.well-known/oauth-protected-resource/mcp/recorder\"");
  HttpResult bad = Post("recorder", Initialize(), "eyJhbGciOiJFUzI1NiJ9.e30.c2ln");
  EXPECT_EQ(bad.status, 401) << bad.body;
  EXPECT_NE(bad.headers["www-authenticate"].find("error=\"invalid_token\""), std::string::npos);
  EXPECT_NE(bad.headers["www-authenticate"].find("resource_metadata="), std::string::npos);
  HttpResult unknown = Post("recorder", Initialize(), "not-an-interlock-token");
  EXPECT_EQ(unknown.status, 401) << unknown.body;
  EXPECT_NE(unknown.headers["www-authenticate"].find("error=\"invalid_token\""), std::string::npos);
}

TEST_F(McpOAuth, TokenForAnotherResourceIsRefused) {
  HttpResult r = Post("recorder", Initialize(), AccessToken(Resource("other")));
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_NE(r.body.find("JWT_WRONG_AUDIENCE"), std::string::npos) << r.body;
  // Same path on another host (a token for a look-alike deployment).
  HttpResult host =
      Post("recorder", Initialize(),
           AccessToken(std::string("http://interlock.elsewhere.example/mcp/recorder")));
  EXPECT_EQ(host.status, 401) << host.body;
}

TEST_F(McpOAuth, TokenForV1AudienceIsRefusedAtMcp) {
  // A workload JWT (aud = identity.jwt audience) naming an agent: not an access token here.
  HttpResult r =
      Post("recorder", Initialize(), AccessToken(std::string("interlock"), "hx@example.iam"));
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_NE(r.body.find("JWT_WRONG_AUDIENCE"), std::string::npos) << r.body;
}

TEST_F(McpOAuth, ResourceTokenIsRefusedAtV1) {
  HttpResult r = client_->Request("POST", "/v1/runs", "", AccessToken(Resource("recorder")));
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_NE(r.body.find("JWT_WRONG_AUDIENCE"), std::string::npos) << r.body;
}

TEST_F(McpOAuth, TokenForSeveralResourcesIsRefused) {
  HttpResult r = Post("recorder", Initialize(),
                      AccessToken(json::value(json::array{json::string(Resource("recorder")),
                                                          json::string(Resource("other"))})));
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_NE(r.body.find("JWT_WRONG_AUDIENCE"), std::string::npos) << r.body;
}

TEST_F(McpOAuth, ExpiredAccessTokenIsRefused) {
  HttpResult r = Post(
      "recorder", Initialize(),
      AccessToken(Resource("recorder"), "alice", {{"iat", Now() - 600}, {"exp", Now() - 120}}));
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_NE(r.body.find("JWT_EXPIRED"), std::string::npos) << r.body;
  EXPECT_NE(r.headers["www-authenticate"].find("error=\"invalid_token\""), std::string::npos);
}

TEST_F(McpOAuth, AccessTokenWithoutClientIdIsRefused) {
  json::object claims{{"iss", issuer_},
                      {"aud", Resource("recorder")},
                      {"sub", "alice"},
                      {"iat", Now()},
                      {"exp", Now() + 300}};
  const std::string t = SignJwt(key_, {{"alg", key_.alg}, {"kid", key_.kid}}, claims);
  HttpResult r = Post("recorder", Initialize(), t);
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_NE(r.body.find("client_id"), std::string::npos) << r.body;
}

TEST_F(McpOAuth, UpstreamWithoutAnOAuthAgentIsForbidden) {
  // identity.oauth.agents names no agent for /mcp/other: who would the token be?
  HttpResult r = Post("other", Initialize(), AccessToken(Resource("other")));
  EXPECT_EQ(r.status, 403) << r.body;
}

TEST_F(McpOAuth, AnotherHumanCannotJoinTheSession) {
  HttpResult init = Post("recorder", Initialize(), AccessToken(Resource("recorder"), "alice"));
  ASSERT_EQ(init.status, 200) << init.body << daemon_->log();
  const std::string session = init.headers["mcp-session-id"];
  ASSERT_FALSE(session.empty());
  const std::string list = R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})";
  // Same agent (fixed per upstream), another person: the session is not theirs.
  HttpResult bob = Post("recorder", list, AccessToken(Resource("recorder"), "bob"), session);
  EXPECT_EQ(bob.status, 404) << bob.body;
  HttpResult alice = Post("recorder", list, AccessToken(Resource("recorder"), "alice"), session);
  EXPECT_EQ(alice.status, 200) << alice.body;
}

TEST_F(McpOAuth, HttpUpstreamNeverSeesTheTokenAndDecisionsCarryTheIdentity) {
  const std::string token = AccessToken(Resource("recorder"), "alice");
  HttpResult init = Post("recorder", Initialize(), token);
  ASSERT_EQ(init.status, 200) << init.body << daemon_->log();
  const std::string session = init.headers["mcp-session-id"];
  HttpResult call = Post(
      "recorder",
      R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{}}})",
      token, session);
  ASSERT_EQ(call.status, 200) << call.body;
  EXPECT_NE(call.body.find("\"ok\""), std::string::npos) << call.body;

  const std::string seen = upstream_.All();
  {
    std::lock_guard lock(upstream_.mu);
    ASSERT_GE(upstream_.seen.size(), 3u);  // initialize, initialized, tools/call at least
  }
  EXPECT_NE(seen.find("Bearer interlocks-own-upstream-credential"), std::string::npos) << seen;
  EXPECT_EQ(seen.find(token.substr(0, 30)), std::string::npos) << seen;
  EXPECT_EQ(seen.find(token.substr(token.size() - 30)), std::string::npos) << seen;

  auto records = DecisionRecords(daemon_->store());
  ASSERT_FALSE(records.empty());
  EXPECT_NE(records.back().first.find("oauth client c-1 (" + issuer_ + ") on behalf of alice"),
            std::string::npos)
      << records.back().first;
  auto ids = RecordedIdentities(daemon_->store());
  ASSERT_EQ(ids.size(), records.size());
  EXPECT_EQ(Str(ids.back(), "issuer"), issuer_);
  EXPECT_EQ(Str(ids.back(), "subject"), "c-1");
  EXPECT_EQ(Str(ids.back(), "on_behalf_of"), "alice");
  int rc = -1;
  const std::string out = RunInterlock({"audit", "verify", "--store", daemon_->store()}, &rc);
  EXPECT_EQ(rc, 0) << out;
}

TEST_F(McpOAuth, InterlockAgentTokensStillWorkAtMcp) {
  HttpResult init = Post("recorder", Initialize(), hx_token_);
  EXPECT_EQ(init.status, 200) << init.body;
}

// Without identity.oauth: a workload JWT at /mcp/* is its agent, and the session's
// decisions carry the identity member as /v1 decisions do.
class McpWorkloadJwt : public McpOAuth {
 protected:
  bool WithOAuth() const override { return false; }
};

TEST_F(McpWorkloadJwt, SessionDecisionsCarryTheIdentity) {
  const std::string jwt = AccessToken(std::string("interlock"), "hx@example.iam",
                                      {{"act", json::object{{"sub", "carol"}}}});
  HttpResult init = Post("recorder", Initialize(), jwt);
  ASSERT_EQ(init.status, 200) << init.body << daemon_->log();
  HttpResult call = Post(
      "recorder",
      R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{}}})",
      jwt, init.headers["mcp-session-id"]);
  ASSERT_EQ(call.status, 200) << call.body;
  auto ids = RecordedIdentities(daemon_->store());
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(Str(ids.back(), "issuer"), issuer_);
  EXPECT_EQ(Str(ids.back(), "subject"), "hx@example.iam");
  EXPECT_EQ(Str(ids.back(), "on_behalf_of"), "carol");
  // No OAuth: no metadata, and the 401 is a plain Bearer challenge.
  EXPECT_EQ(client_->Request("GET", "/.well-known/oauth-protected-resource/mcp/recorder").status,
            404);
}

// ---------------------------------------------------------------------------------------
// Issuer binding: an identity bound to one issuer is asserted by that issuer only.

class IssuerBinding : public ::testing::Test {
 protected:
  void SetUp() override {
    cert_ = MakeSelfSignedCert(dir_.path(), "idp", "IP:127.0.0.1");
    ASSERT_EQ(cert_.error, "");
    for (int i = 0; i < 2; ++i) {
      servers_[i] = StartTlsServer(cert_, &idps_[i], &metrics_);
      ASSERT_NE(servers_[i], nullptr);
      issuers_[i] = HttpsUrl(*servers_[i]);
      idps_[i].issuer = issuers_[i];
      idps_[i].jwks = JwksOf({keys_[i]});
    }
    policies_ = dir_.path() + "/policies";
    fs::create_directories(policies_);
    const std::string examples = std::string(INTERLOCK_SOURCE_DIR) + "/examples/policies/";
    std::filesystem::copy_file(examples + "deploy-agent.yaml", policies_ + "/deploy-agent.yaml");
    std::ofstream(policies_ + "/ci.yaml") << R"(agent:
  id: "ci-agent"
  identity: "repo:myco/app:ref:refs/heads/main"
  autonomy: audit_based
tools:
  allowed:
    - name: "echo"
)";
    // Issuer 0 is production: deploy-agent@myco.iam is bound to it. Issuer 1 is CI and
    // lists nothing: it may assert any identity no other issuer binds.
    const std::string config = dir_.Write(
        "interlock.yaml", "identity:\n  jwt:\n    - issuer: \"" + issuers_[0] +
                              "\"\n      audience: \"interlock\"\n      ca_file: \"" + cert_.cert +
                              "\"\n      identities: [\"deploy-agent@myco.iam\"]\n"
                              "    - issuer: \"" +
                              issuers_[1] + "\"\n      audience: \"interlock\"\n      ca_file: \"" +
                              cert_.cert + "\"\n");
    daemon_ = std::make_unique<Daemon>(dir_.path(), policies_, config);
    ASSERT_TRUE(daemon_->Start()) << daemon_->log();
    client_ = std::make_unique<HttpClient>(daemon_->port());
  }
  void TearDown() override {
    client_.reset();
    if (daemon_) daemon_->Stop();
    for (auto& s : servers_) {
      if (s) s->Shutdown();
    }
  }
  std::string Jwt(int issuer, const std::string& sub) {
    json::object claims{{"iss", issuers_[issuer]},
                        {"aud", "interlock"},
                        {"sub", sub},
                        {"iat", Now()},
                        {"exp", Now() + 300}};
    const TestKey& k = keys_[issuer];
    return SignJwt(k, {{"alg", k.alg}, {"kid", k.kid}}, claims);
  }

  TempDir dir_;
  TestCert cert_;
  JwksIssuer idps_[2];
  std::unique_ptr<server::HttpServer> servers_[2];
  std::string issuers_[2];
  TestKey keys_[2] = {MakeKey("prod-1", "ES256"), MakeKey("ci-1", "RS256")};
  server::Metrics metrics_;
  std::string policies_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(IssuerBinding, OtherIssuerCannotAssertBoundAgent) {
  HttpResult ci = client_->Request("POST", "/v1/runs", "", Jwt(1, "deploy-agent@myco.iam"));
  EXPECT_EQ(ci.status, 401) << ci.body;
  EXPECT_NE(ci.body.find("JWT_ISSUER_NOT_BOUND"), std::string::npos) << ci.body;
  HttpResult prod = client_->Request("POST", "/v1/runs", "", Jwt(0, "deploy-agent@myco.iam"));
  EXPECT_EQ(prod.status, 201) << prod.body;
}

TEST_F(IssuerBinding, BoundIssuerCannotAssertIdentitiesOutsideItsList) {
  HttpResult r =
      client_->Request("POST", "/v1/runs", "", Jwt(0, "repo:myco/app:ref:refs/heads/main"));
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_NE(r.body.find("JWT_ISSUER_NOT_BOUND"), std::string::npos) << r.body;
  HttpResult ci =
      client_->Request("POST", "/v1/runs", "", Jwt(1, "repo:myco/app:ref:refs/heads/main"));
  EXPECT_EQ(ci.status, 201) << ci.body;
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
