// `interlock serve` with identity.jwt: an agent presenting a JWT of a trusted issuer is
// the policy whose agent.identity equals its `sub`; the decision's audit record carries
// the verified identity, issuer and on_behalf_of, and the chain still verifies. Interlock's
// own tokens keep working next to JWTs; a JWT of an unknown identity is 401.
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "daemon_harness.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "subprocess.h"
#include "test_idp.h"

namespace interlock::testing {
namespace {

namespace json = boost::json;
namespace http = boost::beast::http;

class Idp final : public server::RequestHandler {
 public:
  void Handle(server::HttpRequest req, server::Responder r) override {
    server::HttpResponse res(http::status::ok, req.version());
    std::lock_guard lock(mu);
    if (req.target() == "/.well-known/openid-configuration") {
      res.body() =
          json::serialize(json::object{{"issuer", issuer}, {"jwks_uri", issuer + "/jwks"}});
    } else if (req.target() == "/jwks") {
      res.body() = jwks;
    } else {
      res.result(http::status::not_found);
    }
    res.prepare_payload();
    r.Send(std::move(res));
  }
  std::mutex mu;
  std::string issuer;
  std::string jwks;
};

std::string Str(const json::value& v, const char* key) {
  if (!v.is_object()) return "";
  const json::value* x = v.as_object().if_contains(key);
  return x && x->is_string() ? std::string(x->as_string()) : "";
}

// The decision records' (principal, body) in the store.
std::vector<std::pair<std::string, std::string>> DecisionRecords(const std::string& store) {
  std::vector<std::pair<std::string, std::string>> out;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(store.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) return out;
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT principal, body FROM audit_log WHERE call_id != '' ORDER BY seq",
                     -1, &st, nullptr);
  while (st && sqlite3_step(st) == SQLITE_ROW) {
    out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
                     reinterpret_cast<const char*>(sqlite3_column_text(st, 1)));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

class JwtDaemon : public ::testing::Test {
 protected:
  void SetUp() override {
    cert_ = MakeSelfSignedCert(dir_.path(), "idp", "IP:127.0.0.1");
    ASSERT_EQ(cert_.error, "");
    server::HttpServerOptions o;
    o.port = 0;
    o.threads = 1;
    o.tls_cert_file = cert_.cert;
    o.tls_key_file = cert_.key;
    idp_server_ = std::make_unique<server::HttpServer>(o, &idp_, &metrics_);
    ASSERT_TRUE(idp_server_->Start().ok());
    issuer_ = "https://127.0.0.1:" + std::to_string(idp_server_->local_endpoint().port());
    idp_.issuer = issuer_;
    idp_.jwks = JwksOf({key_});

    policies_ = dir_.path() + "/policies";
    std::filesystem::create_directories(policies_);
    const std::string examples = std::string(INTERLOCK_SOURCE_DIR) + "/examples/policies/";
    for (const char* name : {"deploy-agent.yaml", "support-agent-v2.yaml"}) {
      std::filesystem::copy_file(examples + name, policies_ + "/" + name);
    }
    // An agent whose production deploys need a human of group "deployers" (policy.md,
    // "on behalf of").
    std::ofstream(policies_ + "/ops-agent.yaml") << R"(agent:
  id: "ops-agent"
  identity: "ops-agent@myco.iam"
  autonomy: audit_based
tools:
  allowed:
    - name: "deploy"
      on_behalf_of: {groups: ["deployers"]}
    - name: "status"
)";
    const std::string config = dir_.Write(
        "interlock.yaml", "identity:\n  jwt:\n    - issuer: \"" + issuer_ +
                              "\"\n      audience: \"interlock\"\n      ca_file: \"" + cert_.cert +
                              "\"\n      on_behalf_of_claim: \"requested_by\"\n" +
                              "      on_behalf_of_groups_claim: \"requested_by_groups\"\n");
    daemon_ = std::make_unique<Daemon>(dir_.path(), policies_, config);
    support_token_ = CreateToken(daemon_->store(), "--agent", "support-agent-v2");
    ASSERT_TRUE(daemon_->Start()) << daemon_->log();
    client_ = std::make_unique<HttpClient>(daemon_->port());
  }
  void TearDown() override {
    client_.reset();
    if (daemon_) daemon_->Stop();
    if (idp_server_) idp_server_->Shutdown();
  }
  std::string Jwt(const std::string& sub, const json::object& extra = {}) {
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    json::object claims{
        {"iss", issuer_}, {"aud", "interlock"}, {"sub", sub}, {"iat", now}, {"exp", now + 300}};
    for (const auto& kv : extra) claims[kv.key()] = kv.value();
    return SignJwt(key_, {{"alg", key_.alg}, {"kid", key_.kid}, {"typ", "JWT"}}, claims);
  }

  TempDir dir_;
  TestCert cert_;
  Idp idp_;
  server::Metrics metrics_;
  std::unique_ptr<server::HttpServer> idp_server_;
  std::string issuer_;
  TestKey key_ = MakeKey("idp-1", "ES256");
  std::string policies_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<HttpClient> client_;
  std::string support_token_;
};

TEST_F(JwtDaemon, JwtAgentIsDecidedAndItsIdentityAudited) {
  const std::string jwt = Jwt("deploy-agent@myco.iam", {{"requested_by", "alice@myco.example"}});
  HttpResult run = client_->Request("POST", "/v1/runs", "", jwt);
  ASSERT_EQ(run.status, 201) << run.body;
  const std::string run_id = Str(run.json, "run_id");
  HttpResult call = client_->Request(
      "POST", "/v1/runs/" + run_id + "/calls",
      R"({"tool":"get_deployment_status","args":{"environment":"staging","service":"web"}})", jwt);
  ASSERT_EQ(call.status, 200) << call.body;

  bool found = false;
  for (const auto& [principal, body] : DecisionRecords(daemon_->store())) {
    if (body.find("\"identity\"") == std::string::npos) continue;
    found = true;
    auto v = json::parse(body);
    const json::object& top = v.as_object();
    const json::object& data = top.contains("data") ? top.at("data").as_object() : top;
    ASSERT_TRUE(data.contains("identity")) << body;
    const json::object& id = data.at("identity").as_object();
    EXPECT_EQ(Str(id, "issuer"), issuer_);
    EXPECT_EQ(Str(id, "subject"), "deploy-agent@myco.iam");
    EXPECT_EQ(Str(id, "on_behalf_of"), "alice@myco.example");
    EXPECT_NE(principal.find("on behalf of alice@myco.example"), std::string::npos) << principal;
  }
  EXPECT_TRUE(found) << "no decision record carries the JWT identity";
  // The chain, with the new member in it, still verifies.
  int rc = -1;
  const std::string out = RunInterlock({"audit", "verify", "--store", daemon_->store()}, &rc);
  EXPECT_EQ(rc, 0) << out;
}

TEST_F(JwtDaemon, ReviewersSeeWhoTheAgentActsForOnTheApproval) {
  const std::string jwt = Jwt("deploy-agent@myco.iam", {{"requested_by", "alice@myco.example"}});
  HttpResult run = client_->Request("POST", "/v1/runs", "", jwt);
  ASSERT_EQ(run.status, 201) << run.body;
  HttpResult call = client_->Request(
      "POST", "/v1/runs/" + Str(run.json, "run_id") + "/calls",
      R"({"tool":"deploy_service","args":{"environment":"production","service":"web",)"
      R"("version":"v1.2.3"}})",
      jwt);
  ASSERT_EQ(call.status, 200) << call.body;
  const std::string approval_id = Str(call.json, "approval_id");
  ASSERT_FALSE(approval_id.empty()) << call.body;
  const std::string reviewer = CreateToken(daemon_->store(), "--reviewer", "rita");
  HttpResult a = client_->Request("GET", "/v1/approvals/" + approval_id, "", reviewer);
  ASSERT_EQ(a.status, 200) << a.body;
  const std::string principal = Str(a.json, "principal");
  EXPECT_NE(principal.find("deploy-agent@myco.iam (" + issuer_ + ")"), std::string::npos) << a.body;
  EXPECT_NE(principal.find("on behalf of alice@myco.example"), std::string::npos) << a.body;
}

TEST_F(JwtDaemon, InterlockTokensKeepWorkingNextToJwts) {
  HttpResult run = client_->Request("POST", "/v1/runs", "", support_token_);
  EXPECT_EQ(run.status, 201) << run.body;
}

TEST_F(JwtDaemon, JwtOfAnIdentityNoPolicyHasIs401) {
  HttpResult r = client_->Request("POST", "/v1/runs", "", Jwt("intruder@elsewhere.iam"));
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_NE(r.body.find("no policy has agent.identity"), std::string::npos) << r.body;
}

TEST_F(JwtDaemon, ForgedJwtIs401) {
  const TestKey attacker = MakeKey("idp-1", "ES256");
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const std::string forged = SignJwt(attacker, {{"alg", "ES256"}, {"kid", "idp-1"}},
                                     {{"iss", issuer_},
                                      {"aud", "interlock"},
                                      {"sub", "deploy-agent@myco.iam"},
                                      {"iat", now},
                                      {"exp", now + 300}});
  HttpResult r = client_->Request("POST", "/v1/runs", "", forged);
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_NE(r.body.find("JWT_BAD_SIGNATURE"), std::string::npos) << r.body;
}

// Tests that through the daemon an agent acting for nobody, or for a human outside the
// group, cannot deploy (ON_BEHALF_OF_REQUIRED), and one acting for a deployer can.
TEST_F(JwtDaemon, AgentWithoutADeployerCannotDeploy) {
  auto decide = [&](const std::string& jwt) {
    HttpResult run = client_->Request("POST", "/v1/runs", "", jwt);
    EXPECT_EQ(run.status, 201) << run.body;
    HttpResult call = client_->Request("POST", "/v1/runs/" + Str(run.json, "run_id") + "/calls",
                                       R"({"tool":"deploy","args":{}})", jwt);
    EXPECT_EQ(call.status, 200) << call.body;
    return Str(call.json, "code");
  };
  EXPECT_EQ(decide(Jwt("ops-agent@myco.iam")), "ON_BEHALF_OF_REQUIRED");
  EXPECT_EQ(decide(Jwt("ops-agent@myco.iam", {{"requested_by", "mallory"},
                                              {"requested_by_groups", json::array{"interns"}}})),
            "ON_BEHALF_OF_REQUIRED");
  EXPECT_EQ(decide(Jwt("ops-agent@myco.iam", {{"requested_by", "alice"},
                                              {"requested_by_groups", json::array{"deployers"}}})),
            "ALLOWED");
}

// Tests that the human an agent acts for cannot approve that agent's call (a reviewer
// token named like them gets 403), while another reviewer can.
TEST_F(JwtDaemon, HumanCannotApproveTheCallMadeOnTheirBehalf) {
  const std::string jwt = Jwt("deploy-agent@myco.iam", {{"requested_by", "alice@myco.example"}});
  HttpResult run = client_->Request("POST", "/v1/runs", "", jwt);
  ASSERT_EQ(run.status, 201) << run.body;
  HttpResult call = client_->Request(
      "POST", "/v1/runs/" + Str(run.json, "run_id") + "/calls",
      R"({"tool":"deploy_service","args":{"environment":"production","service":"web",)"
      R"("version":"v1.2.3"}})",
      jwt);
  ASSERT_EQ(call.status, 200) << call.body;
  const std::string approval_id = Str(call.json, "approval_id");
  ASSERT_FALSE(approval_id.empty()) << call.body;
  const std::string alice = CreateToken(daemon_->store(), "--reviewer", "Alice@myco.example");
  HttpResult self =
      client_->Request("POST", "/v1/approvals/" + approval_id, R"({"verdict":"approve"})", alice);
  EXPECT_EQ(self.status, 403) << self.body;
  EXPECT_NE(self.body.find("on their own behalf"), std::string::npos) << self.body;
  const std::string rita = CreateToken(daemon_->store(), "--reviewer", "rita");
  HttpResult other =
      client_->Request("POST", "/v1/approvals/" + approval_id, R"({"verdict":"approve"})", rita);
  EXPECT_EQ(other.status, 200) << other.body;
}

}  // namespace
}  // namespace interlock::testing
